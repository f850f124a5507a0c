/**
 * The `emb embed image` job: what the output folder records (fingerprint, run.json), the run
 * itself as a configuration of the runner (source walk -> read + decode + resize on worker
 * threads -> dynamic batcher -> image embedder -> embedding store, in walk order, so the row
 * order is the sorted file order and a resumed run ends where an uninterrupted one would), and
 * its summary line.
 */
import type { BatcherOptions } from "../batching/batcher.js";
import type { ColorManagement, DecodeOptions } from "../image/decode.js";
import type { ClipRetrievalLayout } from "../io/clip-retrieval-layout.js";
import { EmbeddingStore, IMAGE_METADATA } from "../io/embedding-store.js";
import type { Opened } from "../models/registry.js";
import type { ImageEmbedder } from "../models/types.js";
import { runImages, type ImageSources } from "../pipeline/image-stage.js";
import type { Failure, RunCounts } from "../pipeline/runner.js";
import { l2normalize } from "../runtime/vectors.js";
import { versions } from "../version.js";
import { recordedRun } from "./run-record.js";

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
          const previous = store.recordFor(path);
          return previous !== undefined && previous.bytes === info.size && previous.mtimeMs === info.mtimeMs;
        },
        isSameContent: (path, sha256) => store.recordFor(path)?.sha256 === sha256,
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

export interface JobHooks {
  warn: (message: string) => void;
  onStart?: (total: number) => void;
  onProgress?: (event: ProgressEvent) => void;
  /** Runs when the work ends, succeeded or not, before the store is closed (stop progress bars). */
  onEnd?: () => void;
}

export interface EmbedImageOutcome extends EmbedImagesResult {
  status: "complete" | "interrupted";
  out: string;
  rows: number;
}

/**
 * What the folder's embeddings depend on: another run into the same folder must match it. The
 * colour mode is added only when it converts, so folders made before it was a choice still match.
 */
export function embedImageFingerprint(job: Pick<EmbedImageJob, "opened" | "normalize" | "decode">): Record<string, unknown> {
  const { model, source } = job.opened;
  const colorManagement: ColorManagement | undefined = job.decode.colorManagement;
  return {
    ...source,
    graph: model.info.graph,
    preprocessing: model.preprocessing,
    normalize: job.normalize || model.info.normalizedByModel,
    ...(colorManagement && colorManagement !== "none" ? { colorManagement } : {}),
  };
}

/** Runs the job into its folder as a recorded run; the model is released at the end. */
export async function runEmbedImageJob(job: EmbedImageJob, hooks: JobHooks): Promise<EmbedImageOutcome> {
  const { model, resolved } = job.opened;
  const fingerprint = embedImageFingerprint(job);
  const store = EmbeddingStore.open(job.out, model.dim, fingerprint, undefined, job.shard ?? null, {
    metadata: IMAGE_METADATA,
    clipRetrieval: job.clipRetrieval,
  });
  const runInfo = {
    command: "embed image",
    fingerprint,
    model: { spec: job.modelSpec, ...resolved, ...model.info },
    decode: "sharp; EXIF orientation applied; converted to RGB as PIL's convert('RGB') does; PIL-exact bicubic resize",
    batcher: { maxBatchSize: job.batcher.maxBatchSize, maxQueueDelayUs: job.batcher.maxQueueDelayUs },
    versions: versions(),
  };
  const { result, rows, status } = await recordedRun(
    store,
    runInfo,
    hooks.warn,
    (signal) => embedImages(model, { ...job, store, onStart: hooks.onStart, onProgress: hooks.onProgress, signal }),
    async () => {
      hooks.onEnd?.();
      await model.release();
    },
  );
  return { ...result, status, out: job.out, rows };
}

/** The line printed when the job ends. */
export function embedImageSummary(o: EmbedImageOutcome, provider: string): string[] {
  const rate = o.embedded / Math.max(o.seconds, 1e-9);
  const lines = [
    `${o.status}: ${o.embedded} embedded, ${o.unchanged} unchanged, ${o.failed} failed of ${o.total} ` +
      `in ${o.seconds.toFixed(1)} s (${rate.toFixed(1)} images/s, ${provider}); ${o.rows} rows in ${o.out}/embeddings.npy`,
  ];
  if (o.failed > 0) lines.push(`failed files and reasons: ${o.out}/errors.jsonl`);
  return lines;
}
