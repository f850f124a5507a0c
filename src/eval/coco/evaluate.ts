/**
 * Scoring a set of captions as pycocoevalcap's COCOEvalCap does: PTB-tokenise references and
 * candidates, then corpus and per-image BLEU-1..4, METEOR, ROUGE_L and CIDEr-D over the images
 * that have a candidate, in the results' order. Bootstrap 95% intervals resample images with
 * replacement and recompute each corpus score from per-image statistics (BLEU and METEOR pool
 * counts; ROUGE_L and CIDEr-D average per-image scores, CIDEr-D's document frequencies staying
 * those of the full set).
 */
import { bleu, corpusBleu } from "./bleu.js";
import { ciderD } from "./cider.js";
import type { Meteor } from "./meteor.js";
import { tokenizeCaptions } from "./ptb-tokenizer.js";
import { rougeL } from "./rouge.js";
import type { ImageId, TokenizedCaptions } from "./types.js";
import { mulberry32 } from "../random.js";

export const METRIC_GROUPS = ["bleu", "meteor", "rouge", "cider"] as const;
export type MetricGroup = (typeof METRIC_GROUPS)[number];

export interface EvaluateOptions {
  groups: MetricGroup[];
  /** The order to score images in (pycocoevalcap: the annotation file's image order); default the candidates'. */
  order?: ImageId[];
  /** A loaded METEOR scorer, when "meteor" is among the groups. */
  meteor: Meteor | null;
  bootstrap: number;
  seed: number;
}

export interface PerImageScores {
  image_id: ImageId;
  caption: string;
  /** The candidate as PTB-tokenised for scoring. */
  tokens: string;
  [metric: string]: number | string | ImageId;
}

export interface CocoEvaluation {
  images: number;
  metrics: Record<string, number>;
  /** Bootstrap 95% interval per metric (2.5th and 97.5th percentiles). */
  intervals: Record<string, [number, number]>;
  bootstrap: { resamples: number; seed: number };
  seconds: Record<string, number>;
  perImage: PerImageScores[];
}

/** A metric's corpus score over a multiset of images (indices into the scored images). */
type Corpus = (indices: ArrayLike<number>) => number;

export async function evaluateCaptions(
  references: Map<ImageId, string[]>,
  candidates: Map<ImageId, string>,
  options: EvaluateOptions,
): Promise<CocoEvaluation> {
  const seconds: Record<string, number> = {};
  const timed = <T>(name: string, fn: () => T): T => {
    const start = performance.now();
    const out = fn();
    seconds[name] = (performance.now() - start) / 1000;
    return out;
  };
  const ids = options.order ?? [...candidates.keys()];
  // Tokenised as pycocoevalcap does it: references and candidates as two batches in image
  // order (the Stanford tokenizer can look past a caption's end into the next one).
  const { gts, res } = timed("tokenize", () => ({
    gts: tokenizeCaptions(new Map(ids.map((id) => [id, references.get(id)!]))) as TokenizedCaptions,
    res: tokenizeCaptions(new Map(ids.map((id) => [id, [candidates.get(id)!]]))) as TokenizedCaptions,
  }));
  const perImage: PerImageScores[] = ids.map((id) => ({ image_id: id, caption: candidates.get(id)!, tokens: res.get(id)![0] }));
  const metrics: Record<string, number> = {};
  const corpus: Record<string, Corpus> = {};
  const add = (name: string, score: number, scores: number[], fn: Corpus) => {
    metrics[name] = score;
    scores.forEach((s, i) => (perImage[i][name] = s));
    corpus[name] = fn;
  };
  const mean =
    (scores: number[]): Corpus =>
    (indices) => {
      let sum = 0;
      for (let i = 0; i < indices.length; i++) sum += scores[indices[i]];
      return sum / indices.length;
    };

  if (options.groups.includes("bleu")) {
    const b = timed("bleu", () => bleu(gts, res));
    for (let k = 0; k < 4; k++) {
      add(
        `Bleu_${k + 1}`,
        b.score[k],
        b.scores.map((s) => s[k]),
        (indices) => corpusBleu(b.statistics, indices)[k],
      );
    }
  }
  if (options.groups.includes("meteor")) {
    if (!options.meteor) throw new Error("METEOR was asked for but no scorer was loaded");
    const m = timed("meteor", () => options.meteor!.score(gts, res));
    add("METEOR", m.score, m.scores, m.corpus);
  }
  if (options.groups.includes("rouge")) {
    const r = timed("rouge", () => rougeL(gts, res));
    add("ROUGE_L", r.score, r.scores, mean(r.scores));
  }
  if (options.groups.includes("cider")) {
    const c = timed("cider", () => ciderD(gts, res));
    add("CIDEr", c.score, c.scores, mean(c.scores));
  }
  const intervals = timed("bootstrap", () => bootstrapIntervals(corpus, ids.length, options.bootstrap, options.seed));
  return { images: ids.length, metrics, intervals, bootstrap: { resamples: options.bootstrap, seed: options.seed }, seconds, perImage };
}

/** Percentile bootstrap: `resamples` draws of n images with replacement; the 2.5th and 97.5th percentiles. */
export function bootstrapIntervals(corpus: Record<string, Corpus>, n: number, resamples: number, seed: number): Record<string, [number, number]> {
  if (resamples === 0 || n === 0) return {};
  const random = mulberry32(seed);
  const draws: Record<string, number[]> = Object.fromEntries(Object.keys(corpus).map((name) => [name, []]));
  const indices = new Int32Array(n);
  for (let b = 0; b < resamples; b++) {
    for (let i = 0; i < n; i++) indices[i] = Math.floor(random() * n);
    for (const [name, fn] of Object.entries(corpus)) draws[name].push(fn(indices));
  }
  const out: Record<string, [number, number]> = {};
  for (const [name, values] of Object.entries(draws)) {
    values.sort((a, b) => a - b);
    out[name] = [quantile(values, 0.025), quantile(values, 0.975)];
  }
  return out;
}

/** Linear interpolation between order statistics (numpy's default percentile). */
function quantile(sorted: number[], q: number): number {
  const position = q * (sorted.length - 1);
  const low = Math.floor(position);
  const high = Math.min(low + 1, sorted.length - 1);
  return sorted[low] + (sorted[high] - sorted[low]) * (position - low);
}
