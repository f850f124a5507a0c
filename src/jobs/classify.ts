/**
 * Zero-shot classification: each image against a set of label prompts, ranked by the
 * image-text match probability (SigLIP's sigmoid of the scaled cosine).
 */
import type { ResultStore } from "../io/result-store.js";
import type { ImageEmbedder, LogitParameters, TextEmbedder } from "../models/types.js";
import type { DecodeOptions } from "../image/decode.js";
import { dot, l2normalize } from "../runtime/vectors.js";
import { runImages, type ImageMeta, type ImageResume, type ImageSources } from "../pipeline/image-stage.js";
import type { Failure, RunCounts } from "../pipeline/runner.js";

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
  /** Resume: images already classified are not run again. */
  resume?: ImageResume;
  onStart?: (total: number) => void;
  /** After each image, in walk order; `failed` names an image that could not be classified. */
  onProgress?: (event: { path: string; failed: boolean }) => void;
  /** Stops taking new images when aborted; what is in flight is finished and handed on. */
  signal?: AbortSignal;
}

export interface RankedLabel {
  label: string;
  probability: number;
}

export type Classification = { path: string; labels: RankedLabel[] } | { path: string; error: string; reason: string };

/** An image's record in <out>/results.jsonl: the file (size, mtime and hash for resume) and its top labels. */
export type ClassificationRecord = ImageMeta & { labels: RankedLabel[] };

export function prompt(template: string, label: string): string {
  // A replacer function, so "$&" or "$1" in a label stays literal.
  return template.includes("{}") ? template.replaceAll("{}", () => label) : `${template} ${label}`;
}

/**
 * Classifies every image: the label prompts are embedded once, then the images run through
 * the runner (prepare on worker threads -> batcher -> image embedder -> ranking), results
 * handed to `sink` in walk order.
 */
export async function classifyImages(
  imageModel: ImageEmbedder,
  textModel: TextEmbedder,
  logits: LogitParameters,
  options: ClassifyOptions,
  sink: { done: (record: ClassificationRecord) => void; failed: (path: string, failure: Failure) => void },
): Promise<RunCounts & { total: number }> {
  const prompts = (await textModel.embedTexts(options.labels.map((l) => prompt(options.template, l)))).map(l2normalize);
  const report = (path: string, failed: boolean) => options.onProgress?.({ path, failed });
  return runImages(
    imageModel.preprocessing,
    (images) => imageModel.embed(images),
    (vector, meta): ClassificationRecord => {
      const image = l2normalize(vector);
      const labels = options.labels
        .map((label, j) => ({ label, probability: matchProbability(image, prompts[j], logits) }))
        .sort((a, b) => b.probability - a.probability)
        .slice(0, options.top);
      return { ...meta, labels };
    },
    {
      done: (path, record) => {
        sink.done(record);
        report(path, false);
      },
      failed: (path, failure) => {
        sink.failed(path, failure);
        report(path, true);
      },
      skipped: (path) => report(path, false),
    },
    { ...options, onProgress: undefined, batcher: { maxBatchSize: options.batchSize, maxQueueDelayUs: 0 } },
  );
}

export interface ClassifySummary extends Omit<RunCounts, "done" | "skipped"> {
  total: number;
  classified: number;
  unchanged: number;
}

/**
 * Classifies into an output folder (emb classify --out): one record per image in results.jsonl,
 * failures in errors.jsonl; images whose record matches (size and mtime, else content) are skipped.
 */
export async function classifyToStore(
  imageModel: ImageEmbedder,
  textModel: TextEmbedder,
  logits: LogitParameters,
  store: ResultStore<ClassificationRecord>,
  options: ClassifyOptions,
): Promise<ClassifySummary> {
  const resume: ImageResume = {
    isUnchanged: (path, info) => {
      const previous = store.recordFor(path);
      return previous !== undefined && previous.bytes === info.size && previous.mtimeMs === info.mtimeMs;
    },
    isSameContent: (path, sha256) => store.recordFor(path)?.sha256 === sha256,
  };
  const { done, skipped, ...rest } = await classifyImages(
    imageModel,
    textModel,
    logits,
    { ...options, resume },
    {
      done: (record) => store.add(record),
      failed: (path, failure) => store.addError({ path, ...failure, time: new Date().toISOString() }),
    },
  );
  return { classified: done, unchanged: skipped, ...rest };
}

/** Probability that the caption matches the image, both given as unit vectors: sigmoid(scale * cos + bias). */
export function matchProbability(image: Float32Array, text: Float32Array, p: LogitParameters): number {
  return 1 / (1 + Math.exp(-(p.scale * dot(image, text) + p.bias)));
}
