/**
 * `emb embed image` as a configuration of the runner: source walk -> read + decode + resize on
 * worker threads -> dynamic batcher -> image embedder -> embedding store, in walk order, so the
 * row order is the sorted file order and a resumed run ends where an uninterrupted one would.
 */
import type { BatcherOptions } from "../batching/batcher.js";
import type { EmbeddingStore } from "../io/embedding-store.js";
import type { ImageEmbedder } from "../models/types.js";
import type { DecodeOptions } from "./decode.js";
import { prepareImage, type ImageMeta } from "./image-stage.js";
import { l2normalize } from "./normalize.js";
import { PreparePool, REQUESTS_PER_WORKER } from "./prepare-pool.js";
import { readAheadFor, Runner, runInOrder, type Failure, type RunCounts } from "./runner.js";
import { countImages, imagePaths } from "./source.js";
import { StageTimer } from "./timing.js";

export interface EmbedImagesOptions {
  inputs: string[];
  store: EmbeddingStore;
  extensions?: string[];
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
  const total = await countImages(options.inputs, options.extensions);
  options.onStart?.(total);
  const pool = new PreparePool(options.workers);
  const timer = new StageTimer();
  const normalize = options.normalize && !model.info.normalizedByModel;
  const runner = new Runner(
    {
      prepare: prepareImage({
        pool,
        preprocessing: model.preprocessing,
        decode: options.decode,
        timer,
        resume: {
          isUnchanged: (path, info) => {
            const previous = store.recordFor(path);
            return previous !== undefined && previous.bytes === info.size && previous.mtimeMs === info.mtimeMs;
          },
          isSameContent: (path, sha256) => store.recordFor(path)?.sha256 === sha256,
        },
      }),
      infer: (images: Float32Array[]) => model.embed(images),
      post: (vector: Float32Array, meta: ImageMeta) => ({ vector: normalize ? l2normalize(vector) : vector, meta }),
    },
    options.batcher,
    timer,
  );
  const now = () => new Date().toISOString();
  const report = (path: string, outcome: ProgressEvent["outcome"], failure?: Failure) => options.onProgress?.({ path, outcome, failure });
  try {
    const counts = await runInOrder(
      runner,
      imagePaths(options.inputs, options.extensions),
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
      { readAhead: readAheadFor(options.batcher, options.workers, REQUESTS_PER_WORKER), signal: options.signal },
    );
    const { done, skipped, ...rest } = counts;
    return { total, embedded: done, unchanged: skipped, ...rest };
  } finally {
    await pool.close();
  }
}
