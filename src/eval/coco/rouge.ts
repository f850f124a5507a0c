/**
 * ROUGE-L as pycocoevalcap's `Rouge` reports it: for each image the longest common subsequence
 * with every reference gives a precision (over the candidate's length) and a recall (over the
 * reference's length); the largest precision and the largest recall, possibly from different
 * references, combine into an F-measure with beta = 1.2; the corpus score is the mean.
 *
 * Tokens come from splitting on single spaces (Python's `split(" ")`, not `split()`), so an
 * empty caption is one empty token: its length is 1 and it matches only an empty caption.
 */
import { pairCaptions } from "./bleu.js";
import type { MetricResult, TokenizedCaptions } from "./types.js";

const BETA = 1.2;

/** Length of the longest common subsequence, with one row of the usual table. */
export function lcsLength(a: string[], b: string[]): number {
  // Keep the row as long as the shorter sequence.
  if (a.length < b.length) [a, b] = [b, a];
  const row = new Int32Array(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    const ai = a[i - 1];
    let diagonal = 0; // row[j - 1] before it was overwritten for this i
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = ai === b[j - 1] ? diagonal + 1 : Math.max(above, row[j - 1]);
      diagonal = above;
    }
  }
  return row[b.length];
}

function imageRougeL(candidate: string, refs: string[]): number {
  const cand = candidate.split(" ");
  let precision = 0;
  let recall = 0;
  for (const ref of refs) {
    const tokens = ref.split(" ");
    const lcs = lcsLength(tokens, cand);
    precision = Math.max(precision, lcs / cand.length);
    recall = Math.max(recall, lcs / tokens.length);
  }
  if (precision === 0 || recall === 0) return 0;
  const b2 = BETA ** 2;
  return ((1 + b2) * precision * recall) / (recall + b2 * precision);
}

/** Corpus (mean) and per-image ROUGE-L of one candidate per image against its references. */
export function rougeL(gts: TokenizedCaptions, res: TokenizedCaptions): MetricResult {
  const scores = pairCaptions(gts, res).map(({ candidate, refs }) => imageRougeL(candidate, refs));
  let sum = 0;
  for (const s of scores) sum += s;
  return { score: sum / scores.length, scores };
}
