/**
 * `emb embed image` as a configuration of the runner: source walk -> read + decode + resize on
 * worker threads -> dynamic batcher -> image embedder -> embedding store, in walk order, so the
 * row order is the sorted file order and a resumed run ends where an uninterrupted one would.
 */
import type { BatcherOptions } from "../batching/batcher.js";
import type { EmbeddingStore } from "../io/embedding-store.js";
import type { ImageEmbedder } from "../models/types.js";
import type { DecodeOptions } from "../image/decode.js";
import { runImages, type ImageSources } from "./image-stage.js";
import { l2normalize } from "../runtime/vectors.js";
import type { Failure, RunCounts } from "./runner.js";

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
