/**
 * BLEU-1..4 as pycocoevalcap's `Bleu` reports it (its BleuScorer with option "closest"):
 * - n-gram counts are clipped by the largest count of that n-gram in any one reference;
 * - the reference length of a candidate is the reference length closest to the candidate's,
 *   the shorter one on a tie;
 * - the corpus score pools clipped matches, candidate n-grams and both lengths over all images
 *   before taking the geometric mean; per-image scores use the same formula on one image;
 * - precisions are smoothed as (matches + 1e-15) / (guesses + 1e-9), so an order without any
 *   candidate n-gram contributes 1e-6 instead of 0 (a one-word caption still gets BLEU-2..4);
 * - the brevity penalty exp(1 - r/c) is computed from (c + 1e-15) / (r + 1e-9) and applied
 *   whenever that ratio is below 1, which is also the case for c == r (a factor of about
 *   1 - 1e-9 / r).
 *
 * The pairing, word-splitting and n-gram helpers below are shared with ROUGE-L and CIDEr-D.
 */
import type { ImageId, TokenizedCaptions } from "./types.js";

export const BLEU_ORDERS = 4;

/** BleuScorer's smoothing constants. */
const TINY = 1e-15;
const SMALL = 1e-9;

export interface BleuResult {
  /** Corpus BLEU-1..4. */
  score: number[];
  /** Per image (in the references' order), BLEU-1..4. */
  scores: number[][];
  /** Per image, what the corpus score pools: resampling these gives bootstrap intervals. */
  statistics: BleuStatistics[];
}

export interface BleuStatistics {
  correct: number[];
  guess: number[];
  testLen: number;
  refLen: number;
}

/** Corpus BLEU-1..4 of the images `indices` (repeats allowed) from their statistics. */
export function corpusBleu(statistics: BleuStatistics[], indices: ArrayLike<number>): number[] {
  const correct = new Array<number>(BLEU_ORDERS).fill(0);
  const guess = new Array<number>(BLEU_ORDERS).fill(0);
  let testLen = 0;
  let refLen = 0;
  for (let i = 0; i < indices.length; i++) {
    const s = statistics[indices[i]];
    for (let k = 0; k < BLEU_ORDERS; k++) {
      correct[k] += s.correct[k];
      guess[k] += s.guess[k];
    }
    testLen += s.testLen;
    refLen += s.refLen;
  }
  return bleuFrom(correct, guess, testLen, refLen);
}

/** Corpus and per-image BLEU-1..4 of one candidate per image against its references. */
export function bleu(gts: TokenizedCaptions, res: TokenizedCaptions): BleuResult {
  const pairs = pairCaptions(gts, res);
  const ngrams = new NgramIds();
  const images = pairs.map(({ candidate, refs }) => ({
    candidate: ngrams.count(splitWords(candidate), BLEU_ORDERS),
    refs: refs.map((ref) => ngrams.count(splitWords(ref), BLEU_ORDERS)),
  }));

  // Per n-gram id, its largest count in one reference of the current image; reset after each.
  const refMax = new Int32Array(ngrams.size);
  const scores: number[][] = [];
  const statistics: BleuStatistics[] = [];
  const correct = new Array<number>(BLEU_ORDERS).fill(0);
  const guess = new Array<number>(BLEU_ORDERS).fill(0);
  let testLen = 0;
  let refLen = 0;
  for (const { candidate, refs } of images) {
    for (const ref of refs) {
      for (let i = 0; i < ref.ids.length; i++) refMax[ref.ids[i]] = Math.max(refMax[ref.ids[i]], ref.counts[i]);
    }
    const imageCorrect: number[] = [];
    const imageGuess: number[] = [];
    for (let k = 0; k < BLEU_ORDERS; k++) {
      let matched = 0;
      for (let i = candidate.start[k]; i < candidate.start[k + 1]; i++) {
        matched += Math.min(refMax[candidate.ids[i]], candidate.counts[i]);
      }
      imageCorrect.push(matched);
      imageGuess.push(Math.max(0, candidate.words - k));
    }
    for (const ref of refs) for (const id of ref.ids) refMax[id] = 0;

    const imageRefLen = closestLength(
      refs.map((r) => r.words),
      candidate.words,
    );
    scores.push(bleuFrom(imageCorrect, imageGuess, candidate.words, imageRefLen));
    statistics.push({ correct: imageCorrect, guess: imageGuess, testLen: candidate.words, refLen: imageRefLen });
    testLen += candidate.words;
    refLen += imageRefLen;
    for (let k = 0; k < BLEU_ORDERS; k++) {
      correct[k] += imageCorrect[k];
      guess[k] += imageGuess[k];
    }
  }
  return { score: bleuFrom(correct, guess, testLen, refLen), scores, statistics };
}

/** "closest": the reference length nearest the candidate's, the shorter one on a tie. */
function closestLength(refLens: number[], testLen: number): number {
  let best = refLens[0];
  for (const l of refLens) {
    const d = Math.abs(l - testLen);
    const bestD = Math.abs(best - testLen);
    if (d < bestD || (d === bestD && l < best)) best = l;
  }
  return best;
}

/** Smoothed cumulative geometric means of the n-gram precisions, times the brevity penalty. */
function bleuFrom(correct: number[], guess: number[], testLen: number, refLen: number): number[] {
  const out: number[] = [];
  let product = 1;
  for (let k = 0; k < BLEU_ORDERS; k++) {
    product *= (correct[k] + TINY) / (guess[k] + SMALL);
    out.push(product ** (1 / (k + 1)));
  }
  const ratio = (testLen + TINY) / (refLen + SMALL);
  if (ratio < 1) {
    const penalty = Math.exp(1 - 1 / ratio);
    for (let k = 0; k < BLEU_ORDERS; k++) out[k] *= penalty;
  }
  return out;
}

/** One image's references and its single candidate. */
export interface CaptionPair {
  id: ImageId;
  refs: string[];
  candidate: string;
}

/**
 * The images to score in the references' order, checked as pycocoevalcap asserts (same ids on
 * both sides, exactly one candidate, at least one reference) but with errors that name the id.
 */
export function pairCaptions(gts: TokenizedCaptions, res: TokenizedCaptions): CaptionPair[] {
  if (gts.size === 0) throw new Error("COCO metrics: no images to score (the references are empty)");
  for (const id of res.keys()) {
    if (!gts.has(id)) throw new Error(`COCO metrics: image id ${String(id)} has a candidate but no references`);
  }
  const pairs: CaptionPair[] = [];
  for (const [id, refs] of gts) {
    const candidates = res.get(id);
    if (candidates === undefined) throw new Error(`COCO metrics: image id ${String(id)} has references but no candidate`);
    if (candidates.length !== 1) {
      throw new Error(`COCO metrics: image id ${String(id)} has ${candidates.length} candidates; exactly one is expected`);
    }
    if (refs.length === 0) throw new Error(`COCO metrics: image id ${String(id)} has no references`);
    pairs.push({ id, refs, candidate: candidates[0] });
  }
  return pairs;
}

// Python's str.split() separators (str.isspace), so tokens match pycocoevalcap's exactly.
const PY_WHITESPACE = /[\t\n\v\f\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;

/** Tokens as Python's `s.split()` gives them: no empty tokens. */
export function splitWords(s: string): string[] {
  const words = s.split(PY_WHITESPACE);
  // Leading or trailing separators leave empty strings at the ends only.
  if (words.length > 0 && words[words.length - 1] === "") words.pop();
  if (words.length > 0 && words[0] === "") words.shift();
  return words;
}

/** A caption's distinct 1..n-grams with their counts. */
export interface NgramCounts {
  /** Distinct n-gram ids, order by order, each order by first position (as Python's dict). */
  ids: number[];
  counts: number[];
  /** The k-grams are at [start[k - 1], start[k]). */
  start: number[];
  /** Number of words. */
  words: number;
}

/**
 * Dense integer ids for n-grams, built up one word at a time (an n-gram's id comes from its
 * (n-1)-gram prefix and its last word), so counting hashes small integers instead of joined
 * strings, and per-n-gram tables can be plain arrays. Ids are unique across orders.
 */
export class NgramIds {
  private readonly vocabulary = new Map<string, number>();
  private readonly extensions = new PairTable();
  private next = 0;
  // Counting scratch, by id: the count() call that last saw the id, and where it put it.
  private seenIn = new Int32Array(1024);
  private slot = new Int32Array(1024);
  private calls = 0;
  // A caption's word ids and its k-gram ids by position, reused across calls.
  private unigrams = new Int32Array(64);
  private grams = new Int32Array(64);

  /** How many ids have been given out: every id is below this. */
  get size(): number {
    return this.next;
  }

  /** The distinct 1..n-grams of a caption's words and how often each occurs. */
  count(words: string[], n: number): NgramCounts {
    const out: NgramCounts = { ids: [], counts: [], start: [0], words: words.length };
    const call = ++this.calls;
    if (this.unigrams.length < words.length) {
      this.unigrams = new Int32Array(words.length * 2);
      this.grams = new Int32Array(words.length * 2);
    }
    const { unigrams, grams } = this;
    for (let i = 0; i < words.length; i++) grams[i] = unigrams[i] = this.word(words[i]);
    for (let k = 1; k <= n; k++) {
      // grams[i] becomes the id of the k-gram at position i: its (k-1)-gram plus one word.
      if (k > 1) for (let i = 0; i + k <= words.length; i++) grams[i] = this.extend(grams[i], unigrams[i + k - 1]);
      for (let i = 0; i + k <= words.length; i++) {
        const id = grams[i];
        if (this.seenIn[id] === call) {
          out.counts[this.slot[id]]++;
        } else {
          this.seenIn[id] = call;
          this.slot[id] = out.ids.length;
          out.ids.push(id);
          out.counts.push(1);
        }
      }
      out.start.push(out.ids.length);
    }
    return out;
  }

  private word(w: string): number {
    let id = this.vocabulary.get(w);
    if (id === undefined) this.vocabulary.set(w, (id = this.newId()));
    return id;
  }

  private extend(prefix: number, last: number): number {
    const id = this.extensions.getOrAdd(prefix, last, this.next);
    return id === this.next ? this.newId() : id;
  }

  private newId(): number {
    if (this.next === this.seenIn.length) {
      const seenIn = new Int32Array(this.next * 2);
      seenIn.set(this.seenIn);
      this.seenIn = seenIn;
      const slot = new Int32Array(this.next * 2);
      slot.set(this.slot);
      this.slot = slot;
    }
    return this.next++;
  }
}

/**
 * (prefix, last) -> id by open addressing over typed arrays: a Map keyed by prefix * 2^k + last
 * would hash heap-allocated doubles, which made it the hottest spot.
 */
class PairTable {
  private prefixes = new Int32Array(1 << 12);
  private lasts = new Int32Array(1 << 12);
  private ids = new Int32Array(1 << 12).fill(-1);
  private size = 0;

  /** The id stored for the pair, or `fresh` after storing it. */
  getOrAdd(prefix: number, last: number, fresh: number): number {
    const mask = this.ids.length - 1;
    let slot = PairTable.hash(prefix, last) & mask;
    for (let id = this.ids[slot]; id !== -1; id = this.ids[slot]) {
      if (this.prefixes[slot] === prefix && this.lasts[slot] === last) return id;
      slot = (slot + 1) & mask;
    }
    this.prefixes[slot] = prefix;
    this.lasts[slot] = last;
    this.ids[slot] = fresh;
    // Keep the load at most 1/2 so probes stay short.
    if (++this.size * 2 > this.ids.length) this.grow();
    return fresh;
  }

  private static hash(prefix: number, last: number): number {
    const h = Math.imul(prefix, 0x9e3779b1) ^ Math.imul(last + 0x7f4a7c15, 0x85ebca6b);
    return h ^ (h >>> 15);
  }

  private grow(): void {
    const { prefixes, lasts, ids } = this;
    this.prefixes = new Int32Array(ids.length * 2);
    this.lasts = new Int32Array(ids.length * 2);
    this.ids = new Int32Array(ids.length * 2).fill(-1);
    const mask = this.ids.length - 1;
    for (let i = 0; i < ids.length; i++) {
      if (ids[i] === -1) continue;
      let slot = PairTable.hash(prefixes[i], lasts[i]) & mask;
      while (this.ids[slot] !== -1) slot = (slot + 1) & mask;
      this.prefixes[slot] = prefixes[i];
      this.lasts[slot] = lasts[i];
      this.ids[slot] = ids[i];
    }
  }
}
