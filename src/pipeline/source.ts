/**
 * The source stage: walks folders and yields image files in a stable sorted order.
 *
 * Each directory is read whole, closed, sorted, then descended into, so at most one directory
 * handle is open however deep or wide the tree; file contents are read later, by the decode
 * stage, a bounded number at a time. Symlinked directories are followed once: a directory
 * reached again (a loop, or a second link to it) is skipped.
 */
import { readdir, stat } from "node:fs/promises";
import { isUtf8 } from "node:buffer";
import { extname, join, sep } from "node:path";

export const DEFAULT_EXTENSIONS = ["jpg", "jpeg", "png", "webp", "gif", "bmp", "tif", "tiff", "avif"];

export interface SourceFile {
  /** The path as found: the argument joined with the names below it. */
  path: string;
  /** Set for a folder that could not be read: it is reported like an unreadable file and the walk goes on. */
  error?: string;
  /**
   * The path's bytes, when a name in it is not valid UTF-8 (`path` then shows such bytes as
   * \xHH): file system calls take these, since the string cannot name the file.
   */
  bytes?: Buffer;
}

export interface WalkOptions {
  /** Lower-case extensions without the dot. Files named directly as arguments are always taken. */
  extensions?: string[];
}

export class SourceError extends Error {}

/**
 * Checks that every input exists, before anything is opened or written: a mistyped path is a
 * usage error naming it, not a run that claims its output folder and then stops.
 */
export async function checkInputs(inputs: string[]): Promise<void> {
  const missing: string[] = [];
  for (const input of inputs) if (!(await stat(input).catch(() => undefined))) missing.push(input);
  if (missing.length > 0) {
    throw new SourceError(`${missing.join(", ")}: no such file or directory; give image files or folders that exist`);
  }
}

/** How many images a walk will yield: the total that progress bars count towards. */
export async function countImages(inputs: string[], extensions?: string[]): Promise<number> {
  let total = 0;
  for await (const _ of walkImages(inputs, { extensions })) total++;
  return total;
}

export async function* walkImages(inputs: string[], options: WalkOptions = {}): AsyncGenerator<SourceFile> {
  const extensions = new Set((options.extensions ?? DEFAULT_EXTENSIONS).map((e) => e.toLowerCase().replace(/^\./, "")));
  const seenDirs = new Set<string>();
  for (const input of inputs) {
    const info = await stat(input).catch(() => undefined);
    if (!info) throw new SourceError(`${input}: no such file or directory`);
    if (info.isDirectory()) {
      yield* walkDir({ path: input }, extensions, seenDirs);
    } else {
      yield { path: input };
    }
  }
}

async function* walkDir(dir: SourceFile, extensions: Set<string>, seenDirs: Set<string>): AsyncGenerator<SourceFile> {
  const fsDir = dir.bytes ?? dir.path;
  const entries: { name: Buffer; shown: string; kind: "dir" | "file" | "link" }[] = [];
  try {
    const info = await stat(fsDir);
    const identity = `${info.dev}:${info.ino}`;
    if (seenDirs.has(identity)) return;
    seenDirs.add(identity);
    // Names as bytes: a name that is not UTF-8 would otherwise come back mangled and not open.
    for (const entry of await readdir(fsDir, { withFileTypes: true, encoding: "buffer" })) {
      const name: Buffer = entry.name;
      const kind = entry.isDirectory() ? "dir" : entry.isFile() ? "file" : entry.isSymbolicLink() ? "link" : undefined;
      if (kind) entries.push({ name, shown: shownName(name), kind });
    }
  } catch (error) {
    yield { ...dir, error: `cannot read this folder (${folderReason(error)}); the images in it were skipped` };
    return;
  }
  entries.sort((a, b) => (a.shown < b.shown ? -1 : a.shown > b.shown ? 1 : 0));
  for (const entry of entries) {
    const path = join(dir.path, entry.shown);
    const exact = dir.bytes !== undefined || entry.shown !== entry.name.toString("utf8") || !isUtf8(entry.name);
    const child: SourceFile = exact ? { path, bytes: Buffer.concat([Buffer.from(fsDir), Buffer.from(sep), entry.name]) } : { path };
    let kind = entry.kind;
    if (kind === "link") {
      const target = await stat(child.bytes ?? child.path).catch(() => undefined); // a dangling link is skipped
      if (!target) continue;
      kind = target.isDirectory() ? "dir" : "file";
    }
    if (kind === "dir") {
      yield* walkDir(child, extensions, seenDirs);
    } else if (extensions.has(extname(entry.shown).slice(1).toLowerCase())) {
      yield child;
    }
  }
}

/** A file name for display and records: UTF-8 where it is, \xHH for bytes that are not (as Python's backslashreplace). */
function shownName(name: Buffer): string {
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
