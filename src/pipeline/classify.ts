/**
 * Zero-shot classification: each image against a set of label prompts, ranked by the
 * image-text match probability (SigLIP's sigmoid of the scaled cosine).
 */
import type { ImageEmbedder, LogitParameters, TextEmbedder } from "../models/types.js";
import type { DecodeOptions } from "./decode.js";
import { dot, l2normalize } from "./normalize.js";
import { runImages, type ImageSources } from "./image-stage.js";
import type { RunCounts } from "./runner.js";

/** SigLIP's zero-shot prompt; `{}` is replaced by the label. */
export const DEFAULT_TEMPLATE = "This is a photo of {}.";

export interface ClassifyOptions extends ImageSources {
  labels: string[];
  template: string;
  /** Decoding: the pixel limit and what to do with embedded colour profiles. */
  decode?: DecodeOptions;
  batchSize: number;
  workers: number;
  /** How many labels to report per image (all when larger than the label count). */
  top: number;
}

export type Classification =
  | { path: string; labels: { label: string; probability: number }[] }
  | { path: string; error: string; reason: string };

export function prompt(template: string, label: string): string {
  // A replacer function, so "$&" or "$1" in a label stays literal.
  return template.includes("{}") ? template.replaceAll("{}", () => label) : `${template} ${label}`;
}

/**
 * Classifies every image: the label prompts are embedded once, then the images run through
 * the runner (prepare on worker threads -> batcher -> image embedder -> ranking), results
 * handed to `onResult` in walk order.
 */
export async function classifyImages(
  imageModel: ImageEmbedder,
  textModel: TextEmbedder,
  logits: LogitParameters,
  options: ClassifyOptions,
  onResult: (result: Classification) => void,
): Promise<RunCounts> {
  const prompts = (await textModel.embedTexts(options.labels.map((l) => prompt(options.template, l)))).map(l2normalize);
  return runImages(
    imageModel.preprocessing,
    (images) => imageModel.embed(images),
    (vector) => {
      const image = l2normalize(vector);
      return options.labels
        .map((label, j) => ({ label, probability: matchProbability(image, prompts[j], logits) }))
        .sort((a, b) => b.probability - a.probability)
        .slice(0, options.top);
    },
    {
      done: (path, labels) => onResult({ path, labels }),
      failed: (path, failure) => onResult({ path, ...failure }),
    },
    { ...options, batcher: { maxBatchSize: options.batchSize, maxQueueDelayUs: 0 } },
  );
}

/** Probability that the caption matches the image, both given as unit vectors: sigmoid(scale * cos + bias). */
export function matchProbability(image: Float32Array, text: Float32Array, p: LogitParameters): number {
  return 1 / (1 + Math.exp(-(p.scale * dot(image, text) + p.bias)));
}
