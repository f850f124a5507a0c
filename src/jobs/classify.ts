/**
 * Zero-shot classification: each image against a set of label prompts, ranked by the
 * image-text match probability (SigLIP's sigmoid of the scaled cosine, CLIP's softmax over the labels). The runner
 * configuration and the `emb classify` job (one image's ranking, the rankings printed as JSON
 * lines, or recorded in an output folder) live together, as for embed-image.ts: no other job
 * runs this configuration.
 */
import type { ResultStore } from "../io/result-store.js";
import type { openMatcher } from "../models/registry.js";
import type { ImageEmbedder, LogitParameters, TextEmbedder } from "../models/types.js";
import { decodeFingerprint, type DecodeOptions } from "../image/decode.js";
import { dot, l2normalize } from "../runtime/vectors.js";
import { runImages, type ImageMeta, type ImageResume, type ImageSources } from "../pipeline/image-stage.js";
import type { Failure, RunCounts } from "../pipeline/runner.js";
import type { JobHooks } from "./hooks.js";
import { isSingleImage, resultsSummary, runIntoResults, type ResultsOutcome } from "./results-folder.js";

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
      const probabilities = labelProbabilities(l2normalize(vector), prompts, logits);
      const labels = options.labels
        .map((label, j) => ({ label, probability: probabilities[j] }))
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

/**
 * Each label's probability for an image, all given as unit vectors: SigLIP's sigmoid(scale * cos
 * + bias) per label, or CLIP's softmax of scale * cos over the labels (max subtracted first, as
 * torch's softmax does, so large scales do not overflow).
 */
export function labelProbabilities(image: Float32Array, prompts: Float32Array[], p: LogitParameters): number[] {
  const logits = prompts.map((text) => p.scale * dot(image, text) + p.bias);
  if (p.probabilities !== "softmax") return logits.map((x) => 1 / (1 + Math.exp(-x)));
  const top = Math.max(...logits);
  const exps = logits.map((x) => Math.exp(x - top));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
}

/** Everything `emb classify` runs with, flags already read. */
export interface ClassifyJob extends ImageSources {
  /** Both towers and the logit parameters. */
  opened: Awaited<ReturnType<typeof openMatcher>>;
  /** The model as the user named it (--model), for the fingerprint and run.json. */
  modelSpec: string | undefined;
  labels: string[];
  template: string;
  top: number;
  batchSize: number;
  workers: number;
  decode: DecodeOptions;
  extensions: string[];
  /** --out: the records go to this folder; without it they are printed. */
  out: string | undefined;
}

export interface ClassifyHooks extends JobHooks<{ path: string; failed: boolean }> {
  /** Without --out, unless --json: where each image's ranking is printed as it arrives. */
  log?: (line: string) => void;
}

export type ClassifyOutcome = { logits: LogitParameters; results: Classification[] } | ResultsOutcome<ClassifySummary>;

/** Everything that changes a record: another model, label, template or --top must not mix into the folder. */
export function classifyFingerprint(job: Pick<ClassifyJob, "opened" | "modelSpec" | "labels" | "template" | "top" | "decode">): Record<string, unknown> {
  const { image, text, logits, resolved, source } = job.opened;
  return {
    model: resolved.repo ?? job.modelSpec,
    commit: resolved.commit ?? null,
    weights: source.weights,
    graph: image.info.graph,
    textGraph: text.info.graph,
    ...(text.info.tokenizer ? { tokenizer: text.info.tokenizer } : {}),
    preprocessing: image.preprocessing,
    logits,
    labels: job.labels,
    template: job.template,
    top: job.top,
    ...decodeFingerprint(job.decode),
  };
}

/**
 * Runs the job: with --out into its folder as a recorded run, else printing each image's ranking
 * (a table for one image on its own, a JSON line each for more). The models are released at the end.
 */
export async function runClassifyJob(job: ClassifyJob, hooks: ClassifyHooks): Promise<ClassifyOutcome> {
  const { image, text, logits, resolved } = job.opened;
  const release = async () => {
    await image.release();
    await text.release();
  };
  const progress = { onStart: hooks.onStart, onProgress: hooks.onProgress };
  if (job.out) {
    const folder = {
      out: job.out,
      shard: job.shard,
      fingerprint: classifyFingerprint(job),
      command: "classify",
      model: { spec: job.modelSpec, ...resolved, image: image.info, text: text.info },
    };
    return runIntoResults<ClassificationRecord, ClassifySummary>(folder, hooks, release, (store, signal) =>
      classifyToStore(image, text, logits, store, { ...job, ...progress, signal }),
    );
  }
  // One image's ranking is a table, with no progress to show.
  const single = await isSingleImage(job);
  const options = single ? job : { ...job, ...progress };
  const results: Classification[] = [];
  const print = (result: Classification) => {
    results.push(result);
    if (!hooks.log) return;
    if (!single) hooks.log(JSON.stringify(result));
    else if ("error" in result) hooks.warn(`${result.path}: ${result.error}`);
    else for (const l of result.labels) hooks.log(`${l.probability.toFixed(4)}  ${l.label}`);
  };
  try {
    await classifyImages(image, text, logits, options, {
      done: ({ path, labels }) => print({ path, labels }),
      failed: (path, failure) => print({ path, ...failure }),
    });
  } finally {
    hooks.onEnd?.();
    await release();
  }
  return { logits, results };
}

/** What the exit status reads: printed rankings are never interrupted, and failed where they hold an error. */
export function classifyCounts(o: ClassifyOutcome): { interrupted: boolean; failed: number } {
  return "results" in o ? { interrupted: false, failed: o.results.filter((r) => "error" in r).length } : o;
}

/** The lines printed when a folder run ends; printed rankings have none. */
export function classifySummary(o: ClassifyOutcome, provider: string): string[] {
  return "results" in o ? [] : resultsSummary(o, { verb: "classified", count: o.classified, rateDigits: 1 }, provider);
}
