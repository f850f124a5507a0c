/**
 * `emb florence` and COCO captioning as a configuration of the runner: source walk -> read +
 * decode + resize on worker threads -> dynamic batcher -> generation (a batch of images encoded
 * together, their beams decoded together) -> the task's answer parsed -> results, in walk order.
 */
import type { BatcherOptions } from "../batching/batcher.js";
import type { GenerationSettings } from "../generation/settings.js";
import type { ImageToText } from "../models/types.js";
import type { DecodeOptions } from "./decode.js";
import { prepareImage, type ImageMeta } from "./image-stage.js";
import { PreparePool, REQUESTS_PER_WORKER } from "./prepare-pool.js";
import { readAheadFor, Runner, runInOrder, type Failure, type RunCounts } from "./runner.js";
import { countImages, imagePaths } from "./source.js";
import { StageTimer } from "./timing.js";

export interface ImageToTextResult {
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

export interface ImageFailure extends Failure {
  path: string;
}

export interface ImageToTextOptions {
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
  onResult: (result: ImageToTextResult) => void | Promise<void>;
  onFailure: (failure: ImageFailure) => void;
  onStart?: (total: number) => void;
  onProgress?: () => void;
  signal?: AbortSignal;
}

export interface ImageToTextSummary extends Omit<RunCounts, "done" | "skipped"> {
  total: number;
  processed: number;
  unchanged: number;
  tokens: number;
}

export async function imageToText(model: ImageToText, options: ImageToTextOptions): Promise<ImageToTextSummary> {
  const total = await countImages(options.inputs, options.extensions);
  options.onStart?.(total);
  const pool = new PreparePool(options.workers);
  const timer = new StageTimer();
  const runner = new Runner(
    {
      prepare: prepareImage({
        pool,
        preprocessing: model.preprocessing,
        decode: options.decode,
        timer,
        resume: { isUnchanged: (path, info) => options.isDone?.(path, info.size, info.mtimeMs) ?? false },
      }),
      infer: (images: Float32Array[]) =>
        model.generate(
          images,
          images.map(() => options.prompt),
          options.settings,
        ),
      post: (ids: number[], meta: ImageMeta): ImageToTextResult => {
        const generated = model.decode(ids);
        const { path, bytes, mtimeMs, sha256, width, height } = meta;
        const result = model.parse(options.task, generated, { width, height });
        return { path, bytes, mtimeMs, sha256, width, height, task: options.task, text: options.text ?? null, tokens: ids.length - 1, generated, result };
      },
    },
    options.batcher,
    timer,
  );
  let tokens = 0;
  try {
    const counts = await runInOrder(
      runner,
      imagePaths(options.inputs, options.extensions),
      {
        done: async (_, result) => {
          tokens += result.tokens;
          await options.onResult(result);
        },
        failed: (path, failure) => options.onFailure({ path, ...failure }),
      },
      { readAhead: readAheadFor(options.batcher, options.workers, REQUESTS_PER_WORKER), signal: options.signal, onProgress: () => options.onProgress?.() },
    );
    const { done, skipped, ...rest } = counts;
    return { total, processed: done, unchanged: skipped, tokens, ...rest };
  } finally {
    await pool.close();
  }
}
