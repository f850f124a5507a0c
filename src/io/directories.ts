/**
 * Creating output folders. Node's recursive mkdir never returns under /proc (it retries the
 * ENOENT there forever at 100% CPU), so folders are made one level at a time, and a folder that
 * cannot be made is an error naming it and the fix.
 */
import { existsSync, mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";

export class OutputFolderError extends Error {}

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
      const reason =
        code === "EACCES" || code === "EPERM"
          ? "permission denied"
          : code === "ENOENT" || code === "EROFS"
            ? "this file system does not take new folders"
            : (error as Error).message;
      throw new OutputFolderError(`cannot create ${dir} (${reason}); choose a folder on a writable disk`);
    }
  }
}
