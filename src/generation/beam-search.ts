/**
 * Beam search with transformers' semantics (GenerationMixin._beam_search, 4.5x):
 * - each step, log_softmax of the logits (float32), the logits processors, plus the beam's
 *   running score; the best 2 x num_beams continuations over all beams are kept;
 * - of those, continuations ending in EOS (or reaching the length limit) that rank within the
 *   first num_beams become finished hypotheses, scored sum_logprobs / new_length^length_penalty;
 *   the best num_beams that did not finish run on;
 * - an item is done when num_beams hypotheses finished (early_stopping true), or when no running
 *   beam can beat the worst finished one (early_stopping false), or at the length limit;
 * - the answer is the best finished hypothesis.
 * Items are independent: a done item's rows leave the batch, so the rest run faster and no
 * item's result depends on which others share its batch.
 */
import type { StepDecoder } from "./decoder.js";
import { logSoftmax, maxLength, processScores } from "./logits-processors.js";
import type { GenerationSettings } from "./settings.js";

const f32 = Math.fround;

interface Beam {
  tokens: number[];
  score: number;
  /** This beam's row in the step that computed its logits. */
  row: number;
}

interface Hypothesis {
  tokens: number[];
  score: number;
}

interface ItemState {
  running: Beam[];
  finished: Hypothesis[];
  /** transformers' early-stop heuristic: false once no running beam can improve the finished set. */
  canImprove: boolean;
  done: boolean;
}

interface Candidate {
  score: number;
  beam: number;
  token: number;
}

export async function beamSearch(decoder: StepDecoder, items: number, s: GenerationSettings): Promise<number[][]> {
  const { numBeams } = s;
  const limit = maxLength(s);
  const keep = 2 * numBeams; // one EOS token: max(2, 1 + 1) * num_beams candidates
  const states: ItemState[] = Array.from({ length: items }, (_, item) => ({
    // Beams start identical; all but the first get -1e9 so the first step expands one of them.
    running: Array.from({ length: numBeams }, (_, b) => ({ tokens: [s.decoderStartTokenId], score: b === 0 ? 0 : -1e9, row: item })),
    finished: [],
    canImprove: true,
    done: false,
  }));

  // One row of scores at a time: topCandidates is done with a beam's before it asks for the next.
  const scratch = new Float32Array(decoder.vocabSize);
  let first = true;
  while (states.some((st) => !st.done)) {
    const active = states.filter((st) => !st.done);
    const rows = active.flatMap((st) => st.running);
    const parents = rows.map((beam) => beam.row);
    const logits = await decoder.step(
      rows.map((beam) => beam.tokens[beam.tokens.length - 1]),
      first ? active.flatMap((st) => st.running.map(() => states.indexOf(st))) : parents,
    );
    first = false;
    const V = decoder.vocabSize;
    let row = 0;
    for (const st of active) {
      const length = st.running[0].tokens.length; // cur_len
      const candidates = topCandidates(st.running, keep, (b) => {
        const scores = logSoftmax(logits.subarray((row + b) * V, (row + b + 1) * V), scratch);
        processScores(scores, st.running[b].tokens, s);
        return scores;
      });
      const next: Beam[] = [];
      const newlyFinished: Hypothesis[] = [];
      // Rows of the step just run are numbered in `rows` order; beams remember theirs.
      const rowOf = (beam: number) => row + beam;
      candidates.forEach((c, rank) => {
        const tokens = [...st.running[c.beam].tokens, c.token];
        const ends = c.token === s.eosTokenId || tokens.length >= limit;
        // The length penalty counts new tokens, the one just chosen included: cur_len + 1 - 1.
        if (ends && rank < numBeams) newlyFinished.push({ tokens, score: f32(c.score / Math.pow(length, s.lengthPenalty)) });
        if (!ends && next.length < numBeams) next.push({ tokens, score: c.score, row: rowOf(c.beam) });
      });
      // Fewer than num_beams continuations that did not end: transformers keeps ended ones with a
      // -1e9 penalty; they can never finish better, so only their count matters.
      for (const c of candidates) {
        if (next.length >= numBeams) break;
        const tokens = [...st.running[c.beam].tokens, c.token];
        if (c.token === s.eosTokenId || tokens.length >= limit) next.push({ tokens, score: f32(c.score - 1e9), row: rowOf(c.beam) });
      }
      const full = st.finished.length >= numBeams && s.earlyStopping === true;
      if (!full && st.canImprove && newlyFinished.length > 0) {
        // Stable merge: earlier finished hypotheses win ties, as topk over [old, new] keeps them first.
        st.finished = [...st.finished, ...newlyFinished].sort((a, b) => b.score - a.score).slice(0, numBeams);
      }
      st.running = next;
      row += numBeams;
      const newLength = length + 1;
      st.canImprove = st.canImprove && canStillImprove(st, newLength, limit, s);
      st.done = newLength >= limit || !st.canImprove || (s.earlyStopping === true && st.finished.length >= numBeams);
    }
  }
  return states.map((st) => st.finished[0].tokens);
}

/** The `keep` best (score, beam, token) continuations over all beams, best first; ties keep the lower flat index. */
function topCandidates(beams: Beam[], keep: number, processed: (beam: number) => Float32Array): Candidate[] {
  const top: Candidate[] = [];
  // The score a continuation must beat to enter a full list: kept in a local for the 50k-token loop.
  let bar = -Infinity;
  beams.forEach((beam, b) => {
    const scores = processed(b);
    const base = beam.score;
    for (let token = 0; token < scores.length; token++) {
      const score = f32(scores[token] + base);
      if (!(score > bar) && top.length === keep) continue;
      let at = top.length === keep ? keep - 1 : top.length;
      if (top.length < keep) top.push({ score, beam: b, token });
      while (at > 0 && top[at - 1].score < score) {
        top[at] = top[at - 1];
        at--;
      }
      top[at] = { score, beam: b, token };
      if (top.length === keep) bar = top[keep - 1].score;
    }
  });
  return top;
}

/**
 * transformers' early-stop heuristic: the best running beam, scored at the current length, must
 * beat the worst finished hypothesis while fewer than num_beams finished or it does.
 */
function canStillImprove(st: ItemState, length: number, limit: number, s: GenerationSettings): boolean {
  if (st.finished.length < s.numBeams) return true;
  const newTokens = s.earlyStopping === "never" && s.lengthPenalty > 0 ? limit - 1 : length - 1;
  const best = f32(st.running[0].score / Math.pow(newTokens, s.lengthPenalty));
  const worst = Math.min(...st.finished.map((h) => h.score));
  return best > worst;
}
