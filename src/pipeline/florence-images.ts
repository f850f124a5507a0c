/**
 * `emb florence`, wired: source walk -> read + decode + resize (worker threads) -> dynamic
 * batcher -> Florence-2 generation (a batch of images encoded together, their beams decoded
 * together) -> post-processing -> results, in walk order, with each stage timed.
 */
import { DynamicBatcher, type BatcherOptions, type BatchStats } from "../batching/batcher.js";
import type { GenerationSettings } from "../generation/settings.js";
import type { ImageToText } from "../models/types.js";
import { PreparePool } from "./prepare-pool.js";
import { preparedImages } from "./prepared-images.js";
import { walkImages } from "./source.js";
import { StageTimer } from "./timing.js";
import type { DecodeOptions } from "./decode.js";

export interface FlorenceResult {
  path: string;
  bytes: number;
  mtimeMs: number;
  sha256: string;
  /** The image's size after EXIF orientation: what coordinates refer to. */
  width: number;
  height: number;
  task: string;
  text: string | null;
  /** New tokens generated, EOS included. */
  tokens: number;
  /** The generated text with special tokens, as post-processing read it. */
  generated: string;
  result: Record<string, unknown>;
}

export interface FlorenceFailure {
  path: string;
  reason: string;
  error: string;
}

export interface FlorenceImagesOptions {
  inputs: string[];
  task: string;
  text?: string;
  prompt: number[];
  settings: GenerationSettings;
  extensions?: string[];
  /** Decoding: the pixel limit and what to do with embedded colour profiles. */
  decode?: DecodeOptions;
  workers: number;
  batcher: BatcherOptions;
  /** Resume: inputs whose size and mtime match a finished result are not run again. */
  isDone?: (path: string, bytes: number, mtimeMs: number) => boolean;
  /** Called in walk order; awaited, so a sink may write or draw. */
  onResult: (result: FlorenceResult) => void | Promise<void>;
  onFailure: (failure: FlorenceFailure) => void;
  onStart?: (total: number) => void;
  onProgress?: () => void;
  signal?: AbortSignal;
}

export interface FlorenceImagesSummary {
  total: number;
  processed: number;
  unchanged: number;
  failed: number;
  tokens: number;
  interrupted: boolean;
  seconds: number;
  stages: ReturnType<StageTimer["summary"]>;
  batching: BatchStats;
}

interface Request {
  pixels: Float32Array;
}

export async function florenceImages(model: ImageToText, options: FlorenceImagesOptions): Promise<FlorenceImagesSummary> {
  const started = performance.now();
  const timer = new StageTimer();
  let total = 0;
  for await (const _ of walkImages(options.inputs, { extensions: options.extensions })) total++;
  options.onStart?.(total);

  const pool = new PreparePool(options.workers);
  const batcher = new DynamicBatcher<Request, number[]>(
    (requests) =>
      timer.time("generate", () =>
        model.generate(
          requests.map((r) => r.pixels),
          requests.map(() => options.prompt),
          options.settings,
        ),
      ),
    options.batcher,
  );
  const counts = { processed: 0, unchanged: 0, failed: 0, tokens: 0 };
  const fail = (failure: FlorenceFailure) => {
    counts.failed++;
    options.onFailure(failure);
    options.onProgress?.();
  };
  const items = preparedImages(pool, {
    inputs: options.inputs,
    extensions: options.extensions,
    workers: options.workers,
    preprocessing: model.preprocessing,
    decode: options.decode,
    timer,
    signal: options.signal,
    isUnchanged: (path, info) => options.isDone?.(path, info.size, info.mtimeMs) ?? false,
  });

  try {
    // Results are handed on in walk order by this chain while the loop keeps the model fed.
    let chain = Promise.resolve();
    for await (const item of items) {
      if (item.kind === "unchanged") {
        chain = chain.then(() => {
          counts.unchanged++;
          options.onProgress?.();
        });
        continue;
      }
      if (item.kind === "failed") {
        const { path, reason, error } = item;
        chain = chain.then(() => fail({ path, reason, error }));
        continue;
      }
      const done = batcher.submit({ pixels: item.pixels }).then(
        (ids) => ({ ok: true as const, ids }),
        (error: unknown) => ({ ok: false as const, error }),
      );
      chain = chain.then(async () => {
        const outcome = await done;
        if (!outcome.ok) {
          fail({ path: item.path, reason: "inference", error: outcome.error instanceof Error ? outcome.error.message : String(outcome.error) });
          return;
        }
        const generated = model.decode(outcome.ids);
        const { path, bytes, mtimeMs, sha256, width, height } = item;
        const result = timer.timeSync("postprocess", () => model.parse(options.task, generated, { width, height }));
        const tokens = outcome.ids.length - 1;
        const record = { path, bytes, mtimeMs, sha256, width, height, task: options.task, text: options.text ?? null };
        await timer.time("write", async () => options.onResult({ ...record, tokens, generated, result }));
        counts.processed++;
        counts.tokens += tokens;
        options.onProgress?.();
      });
      // Backpressure: at most two batches wait, so memory stays flat however long the input.
      await batcher.whenQueuedAtMost(2 * options.batcher.maxBatchSize);
    }
    await chain;
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
