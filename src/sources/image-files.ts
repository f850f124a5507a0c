/**
 * The source stage: walks folders and yields image files in a stable sorted order.
 *
 * Each directory is read whole, closed, sorted, then descended into, so at most one directory
 * handle is open however deep or wide the tree; file contents are read later, by the decode
 * stage, a bounded number at a time. Symlinked directories are followed once: a directory
 * reached again (a loop, or a second link to it) is skipped.
 *
 * Only regular files are read. A broken or looping link, a named pipe, a socket or a device, met in
 * a folder under an image extension or given as an input, is reported like an unreadable file
 * (reasons "broken-link", "not-a-file"): a pipe would hang the read, /dev/zero fill memory.
 *
 * Inputs come from the arguments, then from a --files-from list; a `.tar` input is read as
 * webdataset samples (tar-source.ts). With a shard, only the inputs whose key is the shard's are
 * yielded (shard.ts), so counts, progress and outputs are the shard's alone.
 */
import type { Stats } from "node:fs";
import { lstat, readdir, readlink, stat } from "node:fs/promises";
import { isUtf8 } from "node:buffer";
import { extname, join, sep } from "node:path";
import type { PathList } from "./path-list.js";
import { fileShardKey, inShard, type Shard } from "./shard.js";
import { isTarPath, readTarSamples } from "./tar.js";

export const DEFAULT_EXTENSIONS = ["jpg", "jpeg", "png", "webp", "gif", "bmp", "tif", "tiff", "avif"];

export interface SourceFile {
  /** The path as found: the argument joined with the names below it; `<tar>/<key>` for a tar's sample. */
  path: string;
  /**
   * Set for an input that cannot be read (a folder, a listed file that is missing, a damaged tar,
   * a sample without an image): it is reported like an unreadable file and the walk goes on.
   */
  error?: string;
  /** The reason code recorded with `error` (default "unreadable"). */
  reason?: string;
  /**
   * The path's bytes, when a name in it is not valid UTF-8 (`path` then shows such bytes as
   * \xHH): file system calls take these, since the string cannot name the file.
   */
  bytes?: Buffer;
  /** A tar sample's image, read from the tar: its bytes, and its member's size and mtime. */
  member?: { data: Buffer; size: number; mtimeMs: number };
}

/** An input that cannot be read, reported with a reason code. */
type Failed = Pick<SourceFile, "error" | "reason">;

export interface WalkOptions {
  /**
   * Lower-case extensions without the dot, taken from folders, in order of preference for a tar
   * sample's image. Files named directly as arguments are always taken.
   */
  extensions?: string[];
  /** More inputs, from --files-from: like arguments, but a missing one is reported, not fatal. */
  list?: PathList;
  /** Only this shard's inputs (by key; see shard.ts). */
  shard?: Shard;
  /** Read `.tar`, `.tar.gz` and `.tgz` inputs as webdataset shards (the image commands do). */
  tars?: boolean;
  /** A tar sample whose image member is larger (bytes) is reported, not read (--max-file-size). */
  maxFileSize?: number;
  /** The bytes of input paths whose names are not UTF-8 (shown with \\xHH), by the path as given: file system calls take these. */
  inputBytes?: ReadonlyMap<string, Buffer>;
}

export class SourceError extends Error {}

/**
 * Checks that every input exists, before anything is opened or written: a mistyped path is a
 * usage error naming it, not a run that claims its output folder and then stops.
 */
export async function checkInputs(inputs: string[]): Promise<void> {
  const missing: string[] = [];
  // A broken link exists: the run reports it, as it does one met in a folder.
  for (const input of inputs) if (!(await lstat(input).catch(() => undefined))) missing.push(input);
  if (missing.length > 0) {
    throw new SourceError(`${missing.join(", ")}: no such file or directory; give image files or folders that exist`);
  }
}

/** How many images a walk will yield: the total that progress bars count towards. */
export async function countImages(inputs: string[], options: WalkOptions = {}): Promise<number> {
  let total = 0;
  for await (const _ of walkImages(inputs, options)) total++;
  return total;
}

interface Walk {
  extensions: string[];
  extensionSet: Set<string>;
  seenDirs: Set<string>;
  shard?: Shard;
  tars: boolean;
  maxFileSize?: number;
  inputBytes?: ReadonlyMap<string, Buffer>;
}

export async function* walkImages(inputs: string[], options: WalkOptions = {}): AsyncGenerator<SourceFile> {
  const extensions = (options.extensions ?? DEFAULT_EXTENSIONS).map((e) => e.toLowerCase().replace(/^\./, ""));
  const walk: Walk = {
    extensions,
    extensionSet: new Set(extensions),
    seenDirs: new Set(),
    shard: options.shard,
    tars: options.tars ?? false,
    maxFileSize: options.maxFileSize,
    inputBytes: options.inputBytes,
  };
  for (const input of inputs) yield* walkInput(input, walk, true);
  if (options.list) for await (const input of options.list.paths()) yield* walkInput(input, walk, false);
}

async function* walkInput(input: string, walk: Walk, mustExist: boolean): AsyncGenerator<SourceFile> {
  const bytes = walk.inputBytes?.get(input);
  if (bytes) {
    yield* walkInputByBytes(input, bytes, walk);
    return;
  }
  const info = await stat(input).catch((error: NodeJS.ErrnoException) => error);
  if (info instanceof Error) {
    const link = await brokenLink(input, info);
    if (!link && mustExist) throw new SourceError(`${input}: no such file or directory`);
    if (inShard(fileShardKey(input, ""), walk.shard)) yield { path: input, ...(link ?? { error: missingReason(info) }) };
  } else if (info.isDirectory()) {
    yield* walkDir({ path: input }, input, "", walk);
  } else if (!inShard(fileShardKey(input, ""), walk.shard)) {
    return;
  } else if (!info.isFile()) {
    yield { path: input, ...(await notAFile(input, info)) };
  } else if (walk.tars && isTarPath(input)) {
    yield* tarSamples(input, walk);
  } else {
    yield { path: input };
  }
}

/** An input whose path is not UTF-8: a folder or a regular file, by its bytes (the knn datasets' class folders and files). */
async function* walkInputByBytes(input: string, bytes: Buffer, walk: Walk): AsyncGenerator<SourceFile> {
  const info = await stat(bytes).catch((error: NodeJS.ErrnoException) => error);
  if (!inShard(fileShardKey(input, ""), walk.shard)) return;
  if (info instanceof Error) yield { path: input, bytes, error: missingReason(info) };
  else if (info.isDirectory()) yield* walkDir({ path: input, bytes }, input, "", walk);
  else if (!info.isFile()) yield { path: input, bytes, ...(await notAFile(bytes, info)) };
  else yield { path: input, bytes };
}

/** A tar given as an input is one input: its samples go to the shard that owns the tar. */
async function* tarSamples(tar: string, walk: Walk): AsyncGenerator<SourceFile> {
  const { extensions } = walk;
  for await (const item of readTarSamples(tar, extensions, walk.maxFileSize)) {
    if (item.kind === "damaged") {
      yield { path: item.path, error: item.error };
    } else if (item.sample.tooLarge) {
      const { size, extension } = item.sample.tooLarge;
      const limit = walk.maxFileSize! / 1e6;
      const error = `its image member (.${extension}) is ${(size / 1e6).toFixed(1)} MB (${size} bytes), over the limit of ${limit} MB (raise it with --max-file-size)`;
      yield { path: item.sample.path, reason: "too-large", error };
    } else if (item.sample.image) {
      const { data, size, mtimeMs } = item.sample.image;
      yield { path: item.sample.path, member: { data, size, mtimeMs } };
    } else {
      const error = `this sample has no image (its members: ${item.sample.extensions.join(", ")}; images are taken with the extensions ${extensions.join(", ")}, set by --ext)`;
      yield { path: item.sample.path, reason: "no-image", error };
    }
  }
}

/** `relative` is the folder's path below the input argument `argument` (empty for the argument itself). */
async function* walkDir(dir: SourceFile, argument: string, relative: string, walk: Walk): AsyncGenerator<SourceFile> {
  const fsDir = dir.bytes ?? dir.path;
  const entries: { name: Buffer; shown: string; kind: "dir" | "file" | "link" | "special" }[] = [];
  try {
    const info = await stat(fsDir);
    const identity = `${info.dev}:${info.ino}`;
    if (walk.seenDirs.has(identity)) return;
    walk.seenDirs.add(identity);
    // Names as bytes: a name that is not UTF-8 would otherwise come back mangled and not open.
    for (const entry of await readdir(fsDir, { withFileTypes: true, encoding: "buffer" })) {
      const name: Buffer = entry.name;
      const kind = entry.isDirectory() ? "dir" : entry.isFile() ? "file" : entry.isSymbolicLink() ? "link" : "special";
      entries.push({ name, shown: shownName(name), kind });
    }
  } catch (error) {
    if (inShard(fileShardKey(argument, relative), walk.shard)) {
      yield { ...dir, error: `cannot read this folder (${folderReason(error)}); the images in it were skipped` };
    }
    return;
  }
  entries.sort((a, b) => (a.shown < b.shown ? -1 : a.shown > b.shown ? 1 : 0));
  for (const entry of entries) {
    const path = join(dir.path, entry.shown);
    const below = relative === "" ? entry.shown : `${relative}/${entry.shown}`;
    const exact = dir.bytes !== undefined || entry.shown !== entry.name.toString("utf8") || !isUtf8(entry.name);
    const child: SourceFile = exact ? { path, bytes: Buffer.concat([Buffer.from(fsDir), Buffer.from(sep), entry.name]) } : { path };
    const fsPath = child.bytes ?? child.path;
    // A link is what it points to; a broken one is taken as a file, and reported if it is wanted.
    const target = entry.kind === "link" ? await stat(fsPath).catch((error: NodeJS.ErrnoException) => error) : undefined;
    if (entry.kind === "dir" || (target && !(target instanceof Error) && target.isDirectory())) {
      yield* walkDir(child, argument, below, walk);
    } else if (walk.extensionSet.has(extname(entry.shown).slice(1).toLowerCase()) && inShard(fileShardKey(argument, below), walk.shard)) {
      if (target instanceof Error) {
        // A link that vanished since readdir is no broken link: the read then says what it is.
        yield { ...child, ...(await brokenLink(fsPath, target)) };
      } else if (target && !target.isFile()) {
        yield { ...child, ...(await notAFile(fsPath, target)) };
      } else if (entry.kind === "special") {
        yield { ...child, ...(await notAFile(fsPath, await lstat(fsPath).catch(() => undefined))) };
      } else {
        yield child;
      }
    }
  }
}

/** Why a path whose stat failed is a broken link; undefined when it is not a link. */
async function brokenLink(path: string | Buffer, error: NodeJS.ErrnoException): Promise<Failed | undefined> {
  if (!(await lstat(path).catch(() => undefined))?.isSymbolicLink()) return undefined;
  const target = await readlink(path, { encoding: "buffer" }).then(shownName, () => "?");
  switch (error.code) {
    case "ELOOP":
      return { reason: "broken-link", error: `a symbolic link to ${target} that loops back on itself (ELOOP) and reaches no file: fix or remove the link` };
    case "ENOENT":
    case "ENOTDIR":
      return { reason: "broken-link", error: `a broken symbolic link: it points to ${target}, which does not exist; fix or remove the link` };
    default:
      return { error: `a symbolic link to ${target}, which cannot be read (${missingReason(error)})` };
  }
}

/** A named pipe, a socket or a device: never read (a pipe would wait for a writer, /dev/zero never ends). */
async function notAFile(path: string | Buffer, info: Stats | undefined): Promise<Failed> {
  const kind = info ? kindOf(info) : "a special file";
  const link = (await lstat(path).catch(() => undefined))?.isSymbolicLink();
  const target = link ? await readlink(path, { encoding: "buffer" }).then(shownName, () => undefined) : undefined;
  const what = target === undefined ? `this is ${kind}` : `a symbolic link to ${target}, which is ${kind}`;
  return { reason: "not-a-file", error: `${what}, not a regular file: only regular files are read` };
}

// As src/image/read-image-file.ts names them (a room this one may not import).
function kindOf(info: Stats): string {
  if (info.isFIFO()) return "a named pipe (FIFO)";
  if (info.isSocket()) return "a socket";
  if (info.isCharacterDevice()) return "a character device";
  if (info.isBlockDevice()) return "a block device";
  return "a special file";
}

/** A file name for display and records: UTF-8 where it is, \xHH for bytes that are not (as Python's backslashreplace). */
export function shownName(name: Buffer): string {
  if (isUtf8(name)) return name.toString("utf8");
  let out = "";
  for (let i = 0; i < name.length; ) {
    const lead = name[i];
    const length = lead < 0x80 ? 1 : lead >= 0xc2 && lead <= 0xdf ? 2 : lead >= 0xe0 && lead <= 0xef ? 3 : lead >= 0xf0 && lead <= 0xf4 ? 4 : 0;
    const piece = length > 0 ? name.subarray(i, i + length) : undefined;
    if (piece && piece.length === length && isUtf8(piece)) {
      out += piece.toString("utf8");
      i += length;
    } else {
      out += `\\x${lead.toString(16).padStart(2, "0")}`;
      i += 1;
    }
  }
  return out;
}

function missingReason(error: NodeJS.ErrnoException): string {
  if (error.code === "ENOENT") return "no such file or directory (listed in --files-from): check the list, or remove the line";
  if (error.code === "EACCES" || error.code === "EPERM") return "permission denied: give this user read access and run again to embed it";
  return error.message;
}

function folderReason(error: unknown): string {
  switch ((error as NodeJS.ErrnoException).code) {
    case "EACCES":
    case "EPERM":
      return "permission denied: give this user read access and run again to embed them";
    case "ENAMETOOLONG":
      return "its path is longer than the system allows: move the images up and run again";
    default:
      return (error as Error).message;
  }
}
