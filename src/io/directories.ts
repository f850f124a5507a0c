/**
 * Creating output folders. Node's recursive mkdir never returns under /proc (it retries the
 * ENOENT there forever at 100% CPU), so folders are made one level at a time, and a folder that
 * cannot be made is an error naming it and the fix.
 */
import { accessSync, closeSync, constants, existsSync, mkdirSync, openSync, rmSync, statSync, writeSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

/** The folder cannot be what was asked for (a file is in the way, a file system without folders): a usage error. */
export class OutputFolderError extends Error {}

/** The folder is there but cannot be written (read-only, no permission, disk full): the environment, not the command line. */
export class FolderNotWritableError extends Error {}

/** Why writing failed, and what to do, by error code; undefined for codes that are not about the disk or its rights. */
export function unwritableReason(code: string | undefined): { reason: string; fix: string } | undefined {
  switch (code) {
    case "EROFS":
      return { reason: "a read-only file system", fix: "choose a folder on a writable disk" };
    case "EACCES":
    case "EPERM":
      return { reason: "permission denied for this user", fix: "give this user write access to it, or choose another folder" };
    case "ENOSPC":
      return { reason: "the disk is full, ENOSPC", fix: "free space (or choose a folder on another disk) and run the same command again" };
    case "EDQUOT":
      return { reason: "the disk quota is used up, EDQUOT", fix: "free space (or choose a folder on another disk) and run the same command again" };
    case "EIO":
      return {
        reason: "the disk reported an input/output error, EIO",
        fix: "check the disk, or choose a folder on another one, and run the same command again",
      };
    default:
      return undefined;
  }
}

export function makeFolder(dir: string): void {
  const missing: string[] = [];
  for (let path = resolve(dir); !existsSync(path); path = dirname(path)) {
    missing.push(path);
    if (dirname(path) === path) break;
  }
  for (const path of missing.reverse()) {
    try {
      mkdirSync(path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "EEXIST") continue;
      const unwritable = code === "ENOENT" ? undefined : unwritableReason(code);
      if (unwritable) throw new FolderNotWritableError(`cannot create ${dir} (${unwritable.reason}); ${unwritable.fix}`);
      if (code === "ENOTDIR") throw new OutputFolderError(`cannot create ${dir} (${fileInTheWay(dir)} is a file, not a folder); choose another folder`);
      const reason = code === "ENOENT" ? "this file system does not take new folders" : (error as Error).message;
      throw new OutputFolderError(`cannot create ${dir} (${reason}); choose a folder on a writable disk`);
    }
  }
  if (!statSync(dir).isDirectory()) throw new OutputFolderError(`${dir} is a file, not a folder; choose a folder (a new one is made), or remove that file`);
  checkWritable(dir);
}

const checked = new Set<string>();

/**
 * Writes and removes one byte in `dir`, once per folder and process: a read-only or full disk
 * is then one sentence before any output exists, not an errno from the first file of the run.
 */
function checkWritable(dir: string): void {
  const key = resolve(dir);
  if (checked.has(key)) return;
  const probe = join(dir, `.emb-write-check-${process.pid}`);
  try {
    const fd = openSync(probe, "w");
    try {
      writeSync(fd, "x");
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    const unwritable = unwritableReason((error as NodeJS.ErrnoException).code);
    if (!unwritable) throw error;
    throw new FolderNotWritableError(`cannot write to ${dir} (${unwritable.reason}); ${unwritable.fix}`);
  } finally {
    rmSync(probe, { force: true });
  }
  checked.add(key);
}

/**
 * Checks, creating nothing, that `dir` can be an output folder: a usage error when a file is
 * where the folder (or one above it) would be, an environment error when the nearest existing
 * folder cannot be written. `flag` names it in the message (e.g. "--out").
 */
export function checkOutputFolder(dir: string, flag: string): void {
  const info = existsSync(dir) ? statSync(dir) : undefined;
  if (info && !info.isDirectory())
    throw new OutputFolderError(`${flag} ${dir} is a file, not a folder; give a folder (a new one is made), or remove that file`);
  let existing = dir;
  while (!existsSync(existing) && dirname(existing) !== existing) existing = dirname(existing);
  if (!statSync(existing).isDirectory()) {
    throw new OutputFolderError(`${flag} ${dir} cannot be made: ${existing} is a file, not a folder; choose another folder`);
  }
  try {
    accessSync(existing, constants.W_OK);
  } catch (error) {
    const unwritable = unwritableReason((error as NodeJS.ErrnoException).code);
    if (!unwritable) throw error;
    const what = existing === dir ? `${flag} ${dir} cannot be written` : `${flag} ${dir} cannot be made in ${existing}`;
    throw new FolderNotWritableError(`${what} (${unwritable.reason}); ${unwritable.fix}`);
  }
}

/** The first folder above `dir`, as given, that exists as a file (what ENOTDIR complains of). */
function fileInTheWay(dir: string): string {
  for (let path = dirname(dir); dirname(path) !== path; path = dirname(path)) {
    if (existsSync(path) && statSync(path).isFile()) return path;
  }
  return dirname(dir);
}
