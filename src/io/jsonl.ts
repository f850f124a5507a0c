/** JSON Lines files written append-only; readers tolerate the torn last line a crash can leave. */
import { closeSync, existsSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from "node:fs";

/** Parses every complete line; a last line without its newline (a torn write) is dropped. */
export function readJsonl<T>(path: string): T[] {
  if (!existsSync(path)) return [];
  const text = readFileSync(path, "utf8");
  const complete = text.endsWith("\n") ? text : text.slice(0, text.lastIndexOf("\n") + 1);
  return complete
    .split("\n")
    .filter((line) => line.trim().length > 0)
    .map((line) => JSON.parse(line) as T);
}

export class JsonlAppender {
  private readonly fd: number;

  constructor(path: string) {
    this.fd = openSync(path, "a");
  }

  /** Writes the records in one write call, each on its own line. */
  append(records: unknown[]): void {
    if (records.length === 0) return;
    writeSync(this.fd, records.map((r) => JSON.stringify(r)).join("\n") + "\n");
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** Replaces a JSONL file with exactly these records (through a temporary file and a rename). */
export function rewriteJsonl(path: string, records: unknown[]): void {
  writeFileAtomic(path, records.map((r) => JSON.stringify(r) + "\n").join(""));
}

export function writeFileAtomic(path: string, content: string | Uint8Array): void {
  const temporary = `${path}.tmp-${process.pid}`;
  writeFileSync(temporary, content);
  renameSync(temporary, path);
}
