/**
 * The read + decode + resize stage, in walk order: files from the source walk are handed to the
 * worker pool a window at a time (enough to keep every worker's queue full while the oldest is
 * collected) and come back in the order they were walked, so outputs keep that order.
 */
import { stat } from "node:fs/promises";
import type { Stats } from "node:fs";
import type { DecodeOptions } from "./decode.js";
import type { ImagePreprocessing } from "./normalize.js";
import { REQUESTS_PER_WORKER, type PreparePool } from "./prepare-pool.js";
import { walkImages } from "./source.js";
import type { StageTimer } from "./timing.js";

export interface ReadyImage {
  kind: "ready";
  path: string;
  mtimeMs: number;
  bytes: number;
  sha256: string;
  /** Source size after EXIF orientation. */
  width: number;
  height: number;
  pixels: Float32Array;
}

export type PreparedImage =
  | ReadyImage
  | { kind: "unchanged"; path: string }
  | { kind: "failed"; path: string; reason: string; error: string };

export interface PreparedImagesOptions {
  inputs: string[];
  extensions?: string[];
  workers: number;
  preprocessing: ImagePreprocessing;
  /** Decoding: the pixel limit and what to do with embedded colour profiles. */
  decode?: DecodeOptions;
  timer: StageTimer;
  /** Stops taking new files when aborted; those in flight still come out. */
  signal?: AbortSignal;
  /** Resume, before reading: a file already done (by size and mtime, say) is not prepared. */
  isUnchanged?: (path: string, info: Stats) => boolean;
  /** Resume, after hashing: a file whose content is already done is not run again. */
  isSameContent?: (path: string, sha256: string) => boolean;
}

export async function* preparedImages(pool: PreparePool, options: PreparedImagesOptions): AsyncGenerator<PreparedImage> {
  const window: Promise<PreparedImage>[] = [];
  const source = walkImages(options.inputs, { extensions: options.extensions })[Symbol.asyncIterator]();
  let exhausted = false;
  const refill = async () => {
    while (!exhausted && window.length < (REQUESTS_PER_WORKER + 1) * options.workers && !options.signal?.aborted) {
      const next = await source.next();
      if (next.done) exhausted = true;
      else window.push(prepare(next.value.path, pool, options));
    }
  };
  await refill();
  while (window.length > 0) {
    const item = await window.shift()!;
    await refill();
    yield item;
  }
}

async function prepare(path: string, pool: PreparePool, options: PreparedImagesOptions): Promise<PreparedImage> {
  const failed = (error: unknown, reason = "unreadable"): PreparedImage => ({
    kind: "failed",
    path,
    reason,
    error: error instanceof Error ? error.message : String(error),
  });
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    return failed(error);
  }
  if (options.isUnchanged?.(path, info)) return { kind: "unchanged", path };
  let reply;
  try {
    reply = await pool.prepare(path, options.preprocessing, options.decode ?? {});
  } catch (error) {
    // A worker that died (out of memory on a hostile file, say) fails this file, not the run.
    return failed(error);
  }
  for (const [stage, ms] of Object.entries(reply.times)) options.timer.add(stage, ms);
  if (!reply.ok) return failed(reply.error, reply.reason);
  if (options.isSameContent?.(path, reply.sha256)) return { kind: "unchanged", path };
  const { sha256, bytes, width, height, pixels } = reply;
  return { kind: "ready", path, mtimeMs: info.mtimeMs, bytes, sha256, width, height, pixels };
}
