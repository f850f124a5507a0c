/**
 * METEOR 1.5's sufficient statistics and score (default "rank" task, English).
 *
 * Per module m (exact, stem, synonym, paraphrase) the statistics count matched content and
 * function words in the candidate (test) and the reference. With delta weighting content against
 * function words:
 *   P = sum_m w_m (delta tc_m + (1 - delta) tf_m) / (delta (testLen - testFunc) + (1 - delta) testFunc)
 *   R = the same over the reference
 *   Fmean = 1 / ((1 - alpha) / P + alpha / R)
 *   frag = chunks / ((testMatches + refMatches) / 2), or 0 when every word of both sentences is
 *          matched in a single chunk
 *   score = Fmean (1 - gamma frag^beta), 0 when undefined (no match), never below 0.
 * The corpus score is computed once from statistics summed over images (not an average of image
 * scores); chunks of images matched completely in one chunk are left out of the sum.
 */
import type { AlignmentCounts } from "./align.js";

/** alpha, beta, gamma, delta of the default task (ranking) for English. */
export const METEOR_PARAMETERS = { alpha: 0.85, beta: 0.2, gamma: 0.6, delta: 0.75 } as const;
/** Module weights of the default task for English, in module order exact, stem, synonym, paraphrase. */
export const METEOR_MODULE_WEIGHTS: readonly number[] = [1.0, 0.6, 0.8, 0.6];

/** The statistics the jar prints for a SCORE line (always four module slots). */
export type MeteorStats = AlignmentCounts;

export interface MeteorMetrics {
  precision: number;
  recall: number;
  fMean: number;
  fragPenalty: number;
  score: number;
}

const MAX_MODULES = 4;

/** Pads per-module counts to the jar's four slots. */
export function padStats(counts: AlignmentCounts): MeteorStats {
  const pad = (a: number[]) => [...a, ...new Array<number>(Math.max(0, MAX_MODULES - a.length)).fill(0)];
  return {
    ...counts,
    testContentMatches: pad(counts.testContentMatches),
    referenceContentMatches: pad(counts.referenceContentMatches),
    testFunctionMatches: pad(counts.testFunctionMatches),
    referenceFunctionMatches: pad(counts.referenceFunctionMatches),
  };
}

function totalMatches(content: number[], fn: number[]): number {
  let total = 0;
  for (let i = 0; i < content.length; i++) total += content[i] + fn[i];
  return total;
}

/** Whether every word of both sentences is matched, in one chunk (no fragmentation). */
function isPerfect(s: MeteorStats): boolean {
  return (
    totalMatches(s.testContentMatches, s.testFunctionMatches) === s.testLength &&
    totalMatches(s.referenceContentMatches, s.referenceFunctionMatches) === s.referenceLength &&
    s.chunks === 1
  );
}

/** The jar's computeMetrics, in its order of floating-point operations. */
export function computeMetrics(s: MeteorStats, weights: readonly number[]): MeteorMetrics {
  const { alpha, beta, gamma, delta } = METEOR_PARAMETERS;
  const testWeightedLength = delta * (s.testLength - s.testFunctionWords) + (1.0 - delta) * s.testFunctionWords;
  const referenceWeightedLength = delta * (s.referenceLength - s.referenceFunctionWords) + (1.0 - delta) * s.referenceFunctionWords;
  let testWeighted = 0;
  let referenceWeighted = 0;
  for (let i = 0; i < weights.length; i++) testWeighted += s.testContentMatches[i] * weights[i] * delta;
  for (let i = 0; i < weights.length; i++) referenceWeighted += s.referenceContentMatches[i] * weights[i] * delta;
  for (let i = 0; i < weights.length; i++) testWeighted += s.testFunctionMatches[i] * weights[i] * (1.0 - delta);
  for (let i = 0; i < weights.length; i++) referenceWeighted += s.referenceFunctionMatches[i] * weights[i] * (1.0 - delta);
  const precision = testWeighted / testWeightedLength;
  const recall = referenceWeighted / referenceWeightedLength;
  const fMean = 1.0 / ((1.0 - alpha) / precision + alpha / recall);
  const frag = isPerfect(s) ? 0 : s.chunks / ((s.testWordMatches + s.referenceWordMatches) / 2);
  const fragPenalty = gamma * Math.pow(frag, beta);
  const score = fMean * (1.0 - fragPenalty);
  return { precision, recall, fMean, fragPenalty, score: Number.isNaN(score) ? 0 : Math.max(score, 0.0) };
}

/** Sums statistics over images as the jar's EVAL does. */
export function aggregateStats(all: readonly MeteorStats[]): MeteorStats {
  const zeros = () => new Array<number>(MAX_MODULES).fill(0);
  const sum: MeteorStats = {
    testLength: 0,
    referenceLength: 0,
    testFunctionWords: 0,
    referenceFunctionWords: 0,
    testContentMatches: zeros(),
    referenceContentMatches: zeros(),
    testFunctionMatches: zeros(),
    referenceFunctionMatches: zeros(),
    chunks: 0,
    testWordMatches: 0,
    referenceWordMatches: 0,
  };
  for (const s of all) {
    sum.testLength += s.testLength;
    sum.referenceLength += s.referenceLength;
    sum.testFunctionWords += s.testFunctionWords;
    sum.referenceFunctionWords += s.referenceFunctionWords;
    for (let i = 0; i < MAX_MODULES; i++) {
      sum.testContentMatches[i] += s.testContentMatches[i] ?? 0;
      sum.referenceContentMatches[i] += s.referenceContentMatches[i] ?? 0;
      sum.testFunctionMatches[i] += s.testFunctionMatches[i] ?? 0;
      sum.referenceFunctionMatches[i] += s.referenceFunctionMatches[i] ?? 0;
    }
    if (!isPerfect(s)) sum.chunks += s.chunks;
    sum.testWordMatches += s.testWordMatches;
    sum.referenceWordMatches += s.referenceWordMatches;
  }
  return sum;
}

/** The jar's one-line form of the statistics (what a SCORE line prints), for debugging and tests. */
export function formatStats(s: MeteorStats): string {
  const j = (v: number) => (Number.isInteger(v) ? v.toFixed(1) : String(v));
  const parts = [s.testLength, s.referenceLength, s.testFunctionWords, s.referenceFunctionWords];
  for (let i = 0; i < MAX_MODULES; i++) {
    parts.push(s.testContentMatches[i] ?? 0, s.referenceContentMatches[i] ?? 0, s.testFunctionMatches[i] ?? 0, s.referenceFunctionMatches[i] ?? 0);
  }
  parts.push(s.chunks, s.testWordMatches, s.referenceWordMatches);
  return parts.map(j).join(" ");
}
