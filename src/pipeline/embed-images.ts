/**
 * `emb embed image`, wired: source walk -> read + decode + resize (worker threads) ->
 * dynamic batcher -> model -> embedding store, with each stage timed.
 *
 * Files go to the batcher in walk order and results are written in that order, so the row
 * order is the sorted file order, and a resumed run ends where an uninterrupted one would.
 */
import { stat } from "node:fs/promises";
import { DynamicBatcher, type BatcherOptions, type BatchStats } from "../batching/batcher.js";
import type { EmbeddingStore, IndexRecord } from "../io/embedding-store.js";
import type { SiglipImageModel } from "../models/siglip.js";
import { DEFAULT_MAX_PIXELS } from "./decode.js";
import { l2normalize } from "./normalize.js";
import { PreparePool, REQUESTS_PER_WORKER } from "./prepare-pool.js";
import { walkImages } from "./source.js";
import { StageTimer } from "./timing.js";

export interface EmbedImagesOptions {
  inputs: string[];
  store: EmbeddingStore;
  extensions?: string[];
  normalize: boolean;
  maxPixels?: number;
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

type Prepared =
  | { kind: "ready"; path: string; pixels: Float32Array; record: Omit<IndexRecord, "row"> }
  | { kind: "unchanged"; path: string }
  | { kind: "failed"; path: string; reason: string; error: string };

export async function embedImages(model: SiglipImageModel, options: EmbedImagesOptions): Promise<EmbedImagesResult> {
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
  model: SiglipImageModel,
  options: EmbedImagesOptions,
  pool: PreparePool,
  batcher: DynamicBatcher<Float32Array, Float32Array>,
  timer: StageTimer,
  report: (path: string, outcome: ProgressEvent["outcome"], failure?: ProgressEvent["failure"]) => void,
): Promise<void> {
  const { store } = options;
  // Files in walk order: a window of them is being prepared by the workers at any time.
  const window: Promise<Prepared>[] = [];
  const source = walkImages(options.inputs, { extensions: options.extensions })[Symbol.asyncIterator]();
  let exhausted = false;
  const refill = async () => {
    // Enough files in flight to fill every worker's queue while the oldest is collected.
    while (!exhausted && window.length < (REQUESTS_PER_WORKER + 1) * options.workers && !options.signal?.aborted) {
      const next = await source.next();
      if (next.done) exhausted = true;
      else window.push(prepare(next.value.path, pool, model, store, options, timer));
    }
  };
  const now = () => new Date().toISOString();

  // Results are written in walk order by this chain, while the loop keeps the model fed.
  let writeChain = Promise.resolve();
  await refill();
  while (window.length > 0) {
    const item = await window.shift()!;
    await refill();
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
          store.add(options.normalize && !model.info.normalizedByModel ? l2normalize(outcome.vector) : outcome.vector, item.record);
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

async function prepare(
  path: string,
  pool: PreparePool,
  model: SiglipImageModel,
  store: EmbeddingStore,
  options: EmbedImagesOptions,
  timer: StageTimer,
): Promise<Prepared> {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    return { kind: "failed", path, reason: "unreadable", error: error instanceof Error ? error.message : String(error) };
  }
  const previous = store.recordFor(path);
  if (previous && previous.bytes === info.size && previous.mtimeMs === info.mtimeMs) return { kind: "unchanged", path };
  let reply;
  try {
    reply = await pool.prepare(path, model.preprocessing, options.maxPixels ?? DEFAULT_MAX_PIXELS);
  } catch (error) {
    // A worker that died (out of memory on a hostile file, say) fails this file, not the run.
    return { kind: "failed", path, reason: "unreadable", error: error instanceof Error ? error.message : String(error) };
  }
  for (const [stage, ms] of Object.entries(reply.times)) timer.add(stage, ms);
  if (!reply.ok) return { kind: "failed", path, reason: reply.reason, error: reply.error };
  if (previous && previous.sha256 === reply.sha256) return { kind: "unchanged", path };
  return {
    kind: "ready",
    path,
    pixels: reply.pixels,
    record: { path, bytes: reply.bytes, mtimeMs: info.mtimeMs, sha256: reply.sha256, width: reply.width, height: reply.height },
  };
}
