/**
 * The prepare stage for images: stat, resume check, then read + hash + decode + resize +
 * normalise on the worker pool (prepare-pool.ts), with the workers' times added to the stage
 * timer. A file the pool cannot read or decode is a failed item, not a failed run.
 */
import { stat } from "node:fs/promises";
import type { BatcherOptions } from "../batching/batcher.js";
import type { ImagePreprocessing } from "../image/normalize.js";
import { PreparePool, REQUESTS_PER_WORKER } from "../image/prepare-pool.js";
import { DEFAULT_MAX_FILE_SIZE, type ImageReadOptions } from "../image/read-image-file.js";
import { readAheadFor, Runner, runInOrder, type Prepared, type RunCounts, type Sink } from "./runner.js";
import type { PathList } from "../sources/path-list.js";
import type { Shard } from "../sources/shard.js";
import { countImages, walkImages, type SourceFile, type WalkOptions } from "../sources/image-files.js";
import { StageTimer } from "./timing.js";

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

/** A file's (or a tar member's) size and modification time: what the resume check compares. */
export interface SizeAndTime {
  size: number;
  mtimeMs: number;
}

/** Resume checks, asked of the sink: a file already done is not prepared (size and mtime) or not run (content). */
export interface ImageResume {
  isUnchanged?: (path: string, info: SizeAndTime) => boolean;
  isSameContent?: (path: string, sha256: string) => boolean;
}

export interface ImageStageOptions {
  pool: PreparePool;
  preprocessing: ImagePreprocessing;
  decode?: ImageReadOptions;
  timer: StageTimer;
  resume?: ImageResume;
}

/**
 * Prepares one image: a file (`path` names it in records; `fsPath`, when given, is what the file
 * system takes, the bytes of a non-UTF-8 name), or, with `member`, bytes already read from a tar.
 */
export function prepareImage(
  options: ImageStageOptions,
): (path: string, fsPath?: string | Buffer, member?: SourceFile["member"]) => Promise<Prepared<Float32Array, ImageMeta>> {
  return async (path, fsPath = path, member) => {
    let info: SizeAndTime;
    try {
      info = member ?? (await stat(fsPath));
    } catch (error) {
      return { kind: "failed", reason: "unreadable", error: (error as Error).message };
    }
    if (options.resume?.isUnchanged?.(path, info)) return { kind: "skipped" };
    let reply;
    try {
      reply = member
        ? await options.pool.prepareBytes(member.data, options.preprocessing, options.decode ?? {})
        : await options.pool.prepare(fsPath, options.preprocessing, options.decode ?? {});
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

/** Where a run's images come from: what every image pipeline's options include. */
export interface ImageSources {
  inputs: string[];
  /** More inputs, from --files-from. */
  list?: PathList;
  /** Only this shard's inputs. */
  shard?: Shard;
  /** Extensions taken from folders, in order of preference for a tar sample's image. */
  extensions?: string[];
  /** The bytes of input paths whose names are not UTF-8 (see WalkOptions). */
  inputBytes?: ReadonlyMap<string, Buffer>;
}

export interface ImageRunOptions extends ImageSources {
  /** Decoding: the pixel limit and what to do with embedded colour profiles; and the file size limit. */
  decode?: ImageReadOptions;
  /** Worker threads that read, decode and resize images. */
  workers: number;
  batcher: BatcherOptions;
  resume?: ImageResume;
  onStart?: (total: number) => void;
  onProgress?: () => void;
  /** Stops taking new files when aborted; what is in flight is finished and handed on. */
  signal?: AbortSignal;
}

/**
 * The image pipelines' common run: walk -> this stage on a worker pool -> the runner (batcher,
 * `infer`, `post`) -> `sink`, in walk order; the pool is closed however the run ends.
 */
export async function runImages<Out, Res>(
  preprocessing: ImagePreprocessing,
  infer: (images: Float32Array[]) => Promise<Out[]>,
  post: (output: Out, meta: ImageMeta) => Res,
  sink: Sink<string, Res>,
  options: ImageRunOptions,
): Promise<RunCounts & { total: number }> {
  const maxFileSize = options.decode?.maxFileSize ?? DEFAULT_MAX_FILE_SIZE;
  const walk: WalkOptions = {
    extensions: options.extensions,
    list: options.list,
    shard: options.shard,
    tars: true,
    maxFileSize,
    inputBytes: options.inputBytes,
  };
  const total = await countImages(options.inputs, walk);
  options.onStart?.(total);
  const pool = new PreparePool(options.workers);
  const timer = new StageTimer();
  const prepareFile = prepareImage({ pool, preprocessing, decode: options.decode, timer, resume: options.resume });
  // An unreadable folder (a missing listed file, a damaged tar) comes from the walk as an item: it fails like an unreadable file.
  const prepare = async (file: SourceFile): Promise<Prepared<Float32Array, ImageMeta>> =>
    file.error ? { kind: "failed", reason: file.reason ?? "unreadable", error: file.error } : prepareFile(file.path, file.bytes, file.member);
  const runner = new Runner({ prepare, infer, post }, options.batcher, timer);
  const byPath: Sink<SourceFile, Res> = {
    done: (file, result) => sink.done(file.path, result),
    failed: (file, failure) => sink.failed(file.path, failure),
    skipped: (file) => sink.skipped?.(file.path),
  };
  try {
    const counts = await runInOrder(runner, walkImages(options.inputs, walk), byPath, {
      readAhead: readAheadFor(options.batcher, options.workers, REQUESTS_PER_WORKER),
      signal: options.signal,
      onProgress: () => options.onProgress?.(),
    });
    return { total, ...counts };
  } finally {
    await pool.close();
  }
}
