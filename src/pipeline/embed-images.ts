/**
 * `emb embed image`, wired: source walk -> read + decode + resize (worker threads) ->
 * dynamic batcher -> model -> embedding store, with each stage timed.
 *
 * Files go to the batcher in walk order and results are written in that order, so the row
 * order is the sorted file order, and a resumed run ends where an uninterrupted one would.
 */
import { DynamicBatcher, type BatcherOptions, type BatchStats } from "../batching/batcher.js";
import type { EmbeddingStore } from "../io/embedding-store.js";
import type { ImageEmbedder } from "../models/types.js";
import { l2normalize } from "./normalize.js";
import { PreparePool } from "./prepare-pool.js";
import { preparedImages } from "./prepared-images.js";
import { walkImages } from "./source.js";
import { StageTimer } from "./timing.js";
import type { DecodeOptions } from "./decode.js";

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
  failure?: { reason: string; error: string };
}

export interface EmbedImagesResult {
  total: number;
  embedded: number;
  unchanged: number;
  failed: number;
  interrupted: boolean;
  seconds: number;
  stages: ReturnType<StageTimer["summary"]>;
  batching: BatchStats;
}

export async function embedImages(model: ImageEmbedder, options: EmbedImagesOptions): Promise<EmbedImagesResult> {
  const started = performance.now();
  const timer = new StageTimer();
  let total = 0;
  for await (const _ of walkImages(options.inputs, { extensions: options.extensions })) total++;
  options.onStart?.(total);

  const pool = new PreparePool(options.workers);
  const batcher = new DynamicBatcher<Float32Array, Float32Array>(
    (images) => timer.time("inference", () => model.embed(images)),
    options.batcher,
  );
  const counts = { embedded: 0, unchanged: 0, failed: 0 };
  try {
    await runPipeline(model, options, pool, batcher, timer, (path, outcome, failure) => {
      counts[outcome]++;
      options.onProgress?.({ path, outcome, failure });
    });
  } finally {
    await pool.close();
  }
  return {
    total,
    ...counts,
    interrupted: options.signal?.aborted ?? false,
    seconds: (performance.now() - started) / 1000,
    stages: timer.summary(),
    batching: batcher.stats,
  };
}

async function runPipeline(
  model: ImageEmbedder,
  options: EmbedImagesOptions,
  pool: PreparePool,
  batcher: DynamicBatcher<Float32Array, Float32Array>,
  timer: StageTimer,
  report: (path: string, outcome: ProgressEvent["outcome"], failure?: ProgressEvent["failure"]) => void,
): Promise<void> {
  const { store } = options;
  const now = () => new Date().toISOString();
  const items = preparedImages(pool, {
    inputs: options.inputs,
    extensions: options.extensions,
    workers: options.workers,
    preprocessing: model.preprocessing,
    decode: options.decode,
    timer,
    signal: options.signal,
    isUnchanged: (path, info) => {
      const previous = store.recordFor(path);
      return previous !== undefined && previous.bytes === info.size && previous.mtimeMs === info.mtimeMs;
    },
    isSameContent: (path, sha256) => store.recordFor(path)?.sha256 === sha256,
  });

  // Results are written in walk order by this chain, while the loop keeps the model fed.
  let writeChain = Promise.resolve();
  for await (const item of items) {
    if (item.kind === "unchanged") {
      writeChain = writeChain.then(() => report(item.path, "unchanged"));
      continue;
    }
    if (item.kind === "failed") {
      writeChain = writeChain.then(() => {
        store.addError({ path: item.path, reason: item.reason, error: item.error, time: now() });
        report(item.path, "failed", { reason: item.reason, error: item.error });
      });
      continue;
    }
    const done = batcher.submit(item.pixels).then(
      (vector) => ({ ok: true as const, vector }),
      (error: unknown) => ({ ok: false as const, error }),
    );
    writeChain = writeChain.then(async () => {
      const outcome = await done;
      timer.timeSync("write", () => {
        if (outcome.ok) {
          const { path, bytes, mtimeMs, sha256, width, height } = item;
          const vector = options.normalize && !model.info.normalizedByModel ? l2normalize(outcome.vector) : outcome.vector;
          store.add(vector, { path, bytes, mtimeMs, sha256, width, height });
          report(item.path, "embedded");
        } else {
          const error = outcome.error instanceof Error ? outcome.error.message : String(outcome.error);
          store.addError({ path: item.path, reason: "inference", error, time: now() });
          report(item.path, "failed", { reason: "inference", error });
        }
      });
    });
    // Backpressure: at most two batches wait, so memory stays flat however long the input.
    await batcher.whenQueuedAtMost(2 * options.batcher.maxBatchSize);
  }
  await writeChain;
}
