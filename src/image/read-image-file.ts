/**
 * Reads an input image file so that no input can hang or exhaust a run: only a regular file is
 * read, and at most a size limit of it.
 *
 * The walk already reports what is not a regular file, but a path can change kind between the
 * walk and the read, and the library API has no walk. So the file is opened with O_NONBLOCK
 * (opening a named pipe then returns at once instead of waiting for a writer, a wait that not
 * even a second Ctrl-C ends: Node's exit waits for the thread stuck in open), checked on the open
 * descriptor, and read up to the limit (/dev/zero, or a file that grows, cannot fill memory).
 */
import { createHash } from "node:crypto";
import { constants, type Stats } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import type { DecodeOptions } from "./decode.js";

/** 512 MB: far above any photo, far below what a worker can hold. */
export const DEFAULT_MAX_FILE_SIZE = 512_000_000;

/** Decoding settings plus the read's size limit: what the image commands hand the workers. */
export interface ImageReadOptions extends DecodeOptions {
  /** Files (and tar members) larger than this many bytes are refused. Default DEFAULT_MAX_FILE_SIZE. */
  maxFileSize?: number;
}

export class ImageReadError extends Error {
  constructor(
    message: string,
    readonly reason: "not-a-file" | "too-large",
  ) {
    super(message);
    this.name = "ImageReadError";
  }
}

// Windows has no O_NONBLOCK (and no named pipes in the file system).
const NONBLOCK = constants.O_NONBLOCK ?? 0;

/** The file's bytes, read once: the same bytes are hashed and decoded. */
export async function readImageFile(path: string | Buffer, maxFileSize = DEFAULT_MAX_FILE_SIZE): Promise<Buffer> {
  const { handle, size } = await openImageFile(path, maxFileSize);
  try {
    // One byte more than its size tells a file that grew since it was measured.
    let buffer = Buffer.allocUnsafe(Math.min(size, maxFileSize) + 1);
    let length = 0;
    for (;;) {
      if (length === buffer.length) {
        if (length > maxFileSize) throw grewPast(maxFileSize);
        const grown = Buffer.allocUnsafe(Math.min(length * 2, maxFileSize + 1));
        buffer.copy(grown, 0, 0, length);
        buffer = grown;
      }
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    return buffer.subarray(0, length);
  } finally {
    await handle.close();
  }
}

/** The SHA-256 of a file, streamed, under the same rules as readImageFile. */
export async function sha256ImageFile(path: string | Buffer, maxFileSize = DEFAULT_MAX_FILE_SIZE): Promise<string> {
  const { handle } = await openImageFile(path, maxFileSize);
  const hash = createHash("sha256");
  let length = 0;
  // The stream closes the handle when it ends or fails.
  for await (const chunk of handle.createReadStream()) {
    length += (chunk as Buffer).length;
    if (length > maxFileSize) throw grewPast(maxFileSize);
    hash.update(chunk as Buffer);
  }
  return hash.digest("hex");
}

async function openImageFile(path: string | Buffer, maxFileSize: number): Promise<{ handle: FileHandle; size: number }> {
  const handle = await open(path, constants.O_RDONLY | NONBLOCK);
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new ImageReadError(`this is ${kindOf(info)}, not a regular file: only regular files are read`, "not-a-file");
    if (info.size > maxFileSize) throw tooLarge(info.size, maxFileSize);
    return { handle, size: info.size };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

function tooLarge(size: number, limit: number): ImageReadError {
  return new ImageReadError(
    `this file is ${(size / 1e6).toFixed(1)} MB (${size} bytes), over the limit of ${limit / 1e6} MB (raise it with --max-file-size)`,
    "too-large",
  );
}

function grewPast(limit: number): ImageReadError {
  return new ImageReadError(`this file grew past the limit of ${limit / 1e6} MB while it was read (raise it with --max-file-size)`, "too-large");
}

function kindOf(info: Stats): string {
  if (info.isFIFO()) return "a named pipe (FIFO)";
  if (info.isSocket()) return "a socket";
  if (info.isCharacterDevice()) return "a character device";
  if (info.isBlockDevice()) return "a block device";
  if (info.isDirectory()) return "a folder";
  return "a special file";
}
