/**
 * The source stage: walks folders and yields image files in a stable sorted order.
 *
 * Each directory is read whole, closed, sorted, then descended into, so at most one directory
 * handle is open however deep or wide the tree; file contents are read later, by the decode
 * stage, a bounded number at a time. Symlinked directories are followed once: a directory
 * reached again (a loop, or a second link to it) is skipped.
 */
import { opendir, stat } from "node:fs/promises";
import { extname, join } from "node:path";

export const DEFAULT_EXTENSIONS = ["jpg", "jpeg", "png", "webp", "gif", "bmp", "tif", "tiff", "avif"];

export interface SourceFile {
  /** The path as found: the argument joined with the names below it. */
  path: string;
  /** Set for a folder that could not be read: it is reported like an unreadable file and the walk goes on. */
  error?: string;
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
      yield* walkDir(input, extensions, seenDirs);
    } else {
      yield { path: input };
    }
  }
}

async function* walkDir(dir: string, extensions: Set<string>, seenDirs: Set<string>): AsyncGenerator<SourceFile> {
  const entries: { name: string; kind: "dir" | "file" | "link" }[] = [];
  try {
    const info = await stat(dir);
    const identity = `${info.dev}:${info.ino}`;
    if (seenDirs.has(identity)) return;
    seenDirs.add(identity);
    for await (const entry of await opendir(dir)) {
      if (entry.isDirectory()) entries.push({ name: entry.name, kind: "dir" });
      else if (entry.isFile()) entries.push({ name: entry.name, kind: "file" });
      else if (entry.isSymbolicLink()) entries.push({ name: entry.name, kind: "link" });
    }
  } catch (error) {
    yield { path: dir, error: `cannot read this folder (${folderReason(error)}); the images in it were skipped` };
    return;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const path = join(dir, entry.name);
    let kind = entry.kind;
    if (kind === "link") {
      const target = await stat(path).catch(() => undefined); // a dangling link is skipped
      if (!target) continue;
      kind = target.isDirectory() ? "dir" : "file";
    }
    if (kind === "dir") {
      yield* walkDir(path, extensions, seenDirs);
    } else if (extensions.has(extname(entry.name).slice(1).toLowerCase())) {
      yield { path };
    }
  }
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
