/** JSON Lines files written append-only; readers tolerate the torn last line a crash can leave. */
import { closeSync, existsSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from "node:fs";

/** A file of ours that is not what we wrote: named, with where it breaks. */
export class DamagedFileError extends Error {}

/** Parses every complete line; a last line without its newline (a torn write) is dropped. */
export function readJsonl<T>(path: string): T[] {
  if (!existsSync(path)) return [];
  const text = readFileSync(path, "utf8");
  const complete = text.endsWith("\n") ? text : text.slice(0, text.lastIndexOf("\n") + 1);
  return complete.split("\n").flatMap((line, i) => {
    if (line.trim().length === 0) return [];
    try {
      return [JSON.parse(line) as T];
    } catch (error) {
      throw new DamagedFileError(
        `${path} is damaged at line ${i + 1} (${(error as Error).message}); restore it, or remove its folder to start that output again`,
      );
    }
  });
}

/** A JSON file of ours (run.json), or a DamagedFileError naming it. */
export function readJsonFile<T>(path: string, fix: string): T {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as T;
  } catch (error) {
    throw new DamagedFileError(`${path} is not valid JSON (${(error as Error).message}); ${fix}`);
  }
}

export class JsonlAppender {
  private readonly fd: number;

  constructor(path: string) {
    this.fd = openSync(path, "a");
  }

  /** Writes the records in one write call, each on its own line. */
  append(records: unknown[]): void {
    if (records.length === 0) return;
    writeSync(this.fd, `${records.map((r) => JSON.stringify(r)).join("\n")}\n`);
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** Replaces a JSONL file with exactly these records (through a temporary file and a rename). */
export function rewriteJsonl(path: string, records: unknown[]): void {
  writeFileAtomic(path, records.map((r) => `${JSON.stringify(r)}\n`).join(""));
}

export function writeFileAtomic(path: string, content: string | Uint8Array): void {
  const temporary = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(temporary, content);
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true }); // a full disk must not also leave a half-written copy behind
    throw error;
  }
}
