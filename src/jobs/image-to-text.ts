/**
 * `emb florence` and COCO captioning as a configuration of the runner: source walk -> read +
 * decode + resize on worker threads -> dynamic batcher -> generation (a batch of images encoded
 * together, their beams decoded together) -> the task's answer parsed -> results, in walk order.
 */
import type { BatcherOptions } from "../batching/batcher.js";
import type { GenerationSettings } from "../generation/settings.js";
import type { ImageToText } from "../models/types.js";
import type { DecodeOptions } from "../image/decode.js";
import { runImages, type ImageSources } from "../pipeline/image-stage.js";
import type { Failure, RunCounts } from "../pipeline/runner.js";

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

export interface ImageToTextOptions extends ImageSources {
  task: string;
  text?: string;
  prompt: number[];
  settings: GenerationSettings;
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
  let tokens = 0;
  const { done, skipped, ...rest } = await runImages(
    model.preprocessing,
    (images) =>
      model.generate(
        images,
        images.map(() => options.prompt),
        options.settings,
      ),
    (ids, meta): ImageToTextResult => {
      const generated = model.decode(ids);
      const { path, bytes, mtimeMs, sha256, width, height } = meta;
      const result = model.parse(options.task, generated, { width, height });
      return { path, bytes, mtimeMs, sha256, width, height, task: options.task, text: options.text ?? null, tokens: ids.length - 1, generated, result };
    },
    {
      done: async (_, result) => {
        tokens += result.tokens;
        await options.onResult(result);
      },
      failed: (path, failure) => options.onFailure({ path, ...failure }),
    },
    { ...options, resume: { isUnchanged: (path, info) => options.isDone?.(path, info.size, info.mtimeMs) ?? false } },
  );
  return { processed: done, unchanged: skipped, tokens, ...rest };
}
