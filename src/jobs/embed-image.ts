/**
 * The `emb embed image` job: what the output folder records (fingerprint, run.json), the run
 * itself as a configuration of the runner (source walk -> read + decode + resize on worker
 * threads -> dynamic batcher -> image embedder -> embedding store, in walk order, so the row
 * order is the sorted file order and a resumed run ends where an uninterrupted one would), and
 * its summary line.
 */
import type { BatcherOptions } from "../batching/batcher.js";
import { decodeFingerprint, type DecodeOptions } from "../image/decode.js";
import type { ClipRetrievalLayout } from "../io/clip-retrieval-layout.js";
import { IMAGE_METADATA, type EmbeddingStore } from "../io/embedding-store.js";
import type { Opened } from "../models/registry.js";
import type { ImageEmbedder } from "../models/types.js";
import { runImages, type ImageSources } from "../pipeline/image-stage.js";
import type { Failure, RunCounts } from "../pipeline/runner.js";
import { l2normalize } from "../runtime/vectors.js";
import { embeddingSummary, runEmbedding, type EmbeddingOutcome } from "./embed-run.js";
import type { JobHooks } from "./hooks.js";

// Jobs written before hooks.ts took JobHooks from here.
export type { JobHooks } from "./hooks.js";

export interface EmbedImagesOptions extends ImageSources {
  store: EmbeddingStore;
  normalize: boolean;
  /** Decoding: the pixel limit and what to do with embedded colour profiles. */
  decode?: DecodeOptions;
  /** Worker threads that read, decode and resize images. */
  workers: number;
  batcher: BatcherOptions;
  onStart?: (total: number) => void;
  onProgress?: (event: ProgressEvent) => void;
  /** Stops taking new files when aborted; what is in flight is finished and written. */
  signal?: AbortSignal;
}

export interface ProgressEvent {
  path: string;
  outcome: "embedded" | "unchanged" | "failed";
  /** Why a failed file failed: the reason code and message written to errors.jsonl. */
  failure?: Failure;
}

export interface EmbedImagesResult extends Omit<RunCounts, "done" | "skipped"> {
  total: number;
  embedded: number;
  unchanged: number;
}

export async function embedImages(model: ImageEmbedder, options: EmbedImagesOptions): Promise<EmbedImagesResult> {
  const { store } = options;
  const normalize = options.normalize && !model.info.normalizedByModel;
  const now = () => new Date().toISOString();
  const report = (path: string, outcome: ProgressEvent["outcome"], failure?: Failure) => options.onProgress?.({ path, outcome, failure });
  const { done, skipped, ...rest } = await runImages(
    model.preprocessing,
    (images) => model.embed(images),
    (vector, meta) => ({ vector: normalize ? l2normalize(vector) : vector, meta }),
    {
      done: (path, { vector, meta }) => {
        const { bytes, mtimeMs, sha256, width, height } = meta;
        store.add(vector, { path, bytes, mtimeMs, sha256, width, height });
        report(path, "embedded");
      },
      failed: (path, failure) => {
        store.addError({ path, ...failure, time: now() });
        report(path, "failed", failure);
      },
      skipped: (path) => report(path, "unchanged"),
    },
    {
      ...options,
      onProgress: undefined,
      resume: {
        isUnchanged: (path, info) => {
          const previous = store.recordForInput(path);
          return previous !== undefined && previous.bytes === info.size && previous.mtimeMs === info.mtimeMs;
        },
        isSameContent: (path, sha256) => store.recordForInput(path)?.sha256 === sha256,
      },
    },
  );
  return { embedded: done, unchanged: skipped, ...rest };
}

/** Everything `emb embed image` runs with, flags already read. */
export interface EmbedImageJob extends ImageSources {
  opened: Opened<ImageEmbedder>;
  /** The model as the user named it (--model), for run.json. */
  modelSpec: string | undefined;
  out: string;
  normalize: boolean;
  decode: DecodeOptions;
  clipRetrieval?: ClipRetrievalLayout;
  extensions: string[];
  workers: number;
  batcher: BatcherOptions;
}

export type EmbedImageOutcome = EmbedImagesResult & EmbeddingOutcome;

/**
 * What the folder's embeddings depend on: another run into the same folder must match it. The
 * colour mode is added only when it converts, so folders made before it was a choice still match.
 */
export function embedImageFingerprint(job: Pick<EmbedImageJob, "opened" | "normalize" | "decode">): Record<string, unknown> {
  const { model, source } = job.opened;
  return {
    ...source,
    graph: model.info.graph,
    ...(model.info.pooling ? { pooling: model.info.pooling } : {}),
    preprocessing: model.preprocessing,
    normalize: job.normalize || model.info.normalizedByModel,
    ...decodeFingerprint(job.decode),
  };
}

/** Runs the job into its folder as a recorded run; the model is released at the end. */
export async function runEmbedImageJob(job: EmbedImageJob, hooks: JobHooks<ProgressEvent>): Promise<EmbedImageOutcome> {
  const run = {
    opened: job.opened,
    command: "embed image",
    modelSpec: job.modelSpec,
    out: job.out,
    fingerprint: embedImageFingerprint(job),
    shard: job.shard,
    outputs: { metadata: IMAGE_METADATA, clipRetrieval: job.clipRetrieval },
    notes: { decode: "sharp; EXIF orientation applied; converted to RGB as PIL's convert('RGB') does; PIL-exact bicubic resize" },
    batcher: job.batcher,
  };
  return runEmbedding(run, hooks, (store, signal) =>
    embedImages(job.opened.model, { ...job, store, onStart: hooks.onStart, onProgress: hooks.onProgress, signal }),
  );
}

/** The lines printed when the job ends. */
export function embedImageSummary(o: EmbedImageOutcome, provider: string): string[] {
  return embeddingSummary(o, provider, "images", "files");
}
