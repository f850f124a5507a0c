/**
 * The prepare stage for images: stat, resume check, then read + hash + decode + resize +
 * normalise on the worker pool (prepare-pool.ts), with the workers' times added to the stage
 * timer. A file the pool cannot read or decode is a failed item, not a failed run.
 */
import type { Stats } from "node:fs";
import { stat } from "node:fs/promises";
import type { DecodeOptions } from "./decode.js";
import type { ImagePreprocessing } from "./normalize.js";
import type { PreparePool } from "./prepare-pool.js";
import type { Prepared } from "./runner.js";
import type { StageTimer } from "./timing.js";

/** What is known of a prepared image besides its pixels: what sinks record. */
export interface ImageMeta {
  path: string;
  mtimeMs: number;
  bytes: number;
  sha256: string;
  /** Source size after EXIF orientation: what coordinates refer to. */
  width: number;
  height: number;
}

/** Resume checks, asked of the sink: a file already done is not prepared (size and mtime) or not run (content). */
export interface ImageResume {
  isUnchanged?: (path: string, info: Stats) => boolean;
  isSameContent?: (path: string, sha256: string) => boolean;
}

export interface ImageStageOptions {
  pool: PreparePool;
  preprocessing: ImagePreprocessing;
  decode?: DecodeOptions;
  timer: StageTimer;
  resume?: ImageResume;
}

export function prepareImage(options: ImageStageOptions): (path: string) => Promise<Prepared<Float32Array, ImageMeta>> {
  return async (path) => {
    let info;
    try {
      info = await stat(path);
    } catch (error) {
      return { kind: "failed", reason: "unreadable", error: (error as Error).message };
    }
    if (options.resume?.isUnchanged?.(path, info)) return { kind: "skipped" };
    let reply;
    try {
      reply = await options.pool.prepare(path, options.preprocessing, options.decode ?? {});
    } catch (error) {
      // A worker that died (out of memory on a hostile file, say) fails this file, not the run.
      return { kind: "failed", reason: "unreadable", error: (error as Error).message };
    }
    for (const [stage, ms] of Object.entries(reply.times)) options.timer.add(stage, ms);
    if (!reply.ok) return { kind: "failed", reason: reply.reason, error: reply.error };
    if (options.resume?.isSameContent?.(path, reply.sha256)) return { kind: "skipped" };
    const { sha256, bytes, width, height, pixels } = reply;
    return { kind: "ready", input: pixels, meta: { path, mtimeMs: info.mtimeMs, bytes, sha256, width, height } };
  };
}
