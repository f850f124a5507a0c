/**
 * COCO caption scoring for Node programs: BLEU-1..4, METEOR, ROUGE_L and CIDEr-D as
 * pycocoevalcap computes them, from a results list (or file) and the annotations (or their file).
 */
import { checkResults, readAnnotations, readResults, type CocoAnnotations } from "../eval/coco/annotations.js";
import { evaluateCaptions, METRIC_GROUPS, type CocoEvaluation, type MetricGroup } from "../eval/coco/evaluate.js";
import { Meteor } from "../eval/coco/meteor.js";
import type { ImageId } from "../eval/coco/types.js";

export interface CaptionResult {
  image_id: ImageId;
  caption: string;
}

export interface ScoreOptions {
  /** Metric groups to compute (default all four: "bleu", "meteor", "rouge", "cider"). */
  metrics?: MetricGroup[];
  /** METEOR 1.5's paraphrase-en.gz (as pycocoevalcap ships it); without it METEOR has no paraphrase matches. */
  paraphraseTable?: string;
  /** Score only the images that have a result instead of refusing when some are missing. */
  allowMissing?: boolean;
  /** Bootstrap resamples for 95% intervals (default 0: none). */
  bootstrap?: number;
  seed?: number;
}

export type CaptionScores = CocoEvaluation;

/** Reads a COCO captions annotation file (captions_val2014.json's format). */
export function readCocoAnnotations(path: string): CocoAnnotations {
  return readAnnotations(path);
}

/**
 * Scores candidate captions against the annotations' references. `results` is a COCO results
 * file or its entries; bad entries (unknown, duplicate or malformed ids) throw a CocoInputError
 * listing them.
 */
export async function scoreCaptions(
  annotations: string | CocoAnnotations,
  results: string | CaptionResult[],
  options: ScoreOptions = {},
): Promise<CaptionScores> {
  const groups = options.metrics ?? [...METRIC_GROUPS];
  const unknown = groups.filter((g) => !METRIC_GROUPS.includes(g));
  if (unknown.length > 0) throw new RangeError(`unknown metrics ${unknown.join(", ")}; choose from ${METRIC_GROUPS.join(", ")}`);
  const references = typeof annotations === "string" ? readAnnotations(annotations) : annotations;
  const allowMissing = options.allowMissing ?? false;
  const { candidates } =
    typeof results === "string" ? readResults([results], references, allowMissing) : checkResults(results, "given", references, allowMissing);
  const meteor = groups.includes("meteor") ? await Meteor.load({ paraphraseTable: options.paraphraseTable }) : null;
  return evaluateCaptions(references.references, candidates, {
    groups,
    order: references.images.map((image) => image.id).filter((id) => candidates.has(id)),
    meteor,
    bootstrap: options.bootstrap ?? 0,
    seed: options.seed ?? 0,
  });
}
