/**
 * The output folder of a generation run: `results.jsonl` (one record per input, in input order),
 * `errors.jsonl` and `run.json`. Records are appended as results arrive, so a killed run keeps
 * every finished result; the records double as the resume manifest (an input whose path, size
 * and mtime match is not run again). A record written again for the same path supersedes the
 * old one, which close() drops.
 */
import { join } from "node:path";
import { claimOutputFolder, type ErrorRecord } from "./embedding-store.js";
import type { FolderLock } from "./folder-lock.js";
import { JsonlAppender, readJsonl, rewriteJsonl, writeFileAtomic } from "./jsonl.js";
import type { Shard } from "../sources/shard.js";

export interface ResultRecord {
  path: string;
  bytes: number;
  mtimeMs: number;
  sha256: string;
}

export class ResultStore<R extends ResultRecord> {
  private readonly results: JsonlAppender;
  private readonly errors: JsonlAppender;
  private readonly byPath = new Map<string, R>();
  private superseded = 0;

  private constructor(
    readonly dir: string,
    records: R[],
    private readonly lock: FolderLock,
    private readonly shard: Shard | null,
  ) {
    for (const r of records) this.remember(r);
    this.results = new JsonlAppender(join(dir, "results.jsonl"));
    this.errors = new JsonlAppender(join(dir, "errors.jsonl"));
  }

  /** Opens (or creates) the folder; one made with another fingerprint (model, task, settings) or for another shard is refused. */
  static open<R extends ResultRecord>(dir: string, fingerprint: Record<string, unknown>, shard: Shard | null = null): ResultStore<R> {
    const lock = claimOutputFolder(dir, fingerprint, "results", shard);
    // A torn last line (a kill mid-write) is dropped by the reader and by this rewrite.
    const records = readJsonl<R>(join(dir, "results.jsonl"));
    rewriteJsonl(join(dir, "results.jsonl"), records);
    return new ResultStore<R>(dir, records, lock, shard);
  }

  /** Lets other runs write the folder: after close() and the last run.json. */
  unlock(): void {
    this.lock.release();
  }

  recordFor(path: string): R | undefined {
    return this.byPath.get(path);
  }

  get rows(): number {
    return this.byPath.size;
  }

  add(record: R): void {
    this.results.append([record]);
    this.remember(record);
  }

  addError(record: ErrorRecord): void {
    this.errors.append([record]);
  }

  /** Writes run.json: `info` with the folder's shard (null: all inputs), which a resume must match. */
  writeRunInfo(info: Record<string, unknown>): void {
    writeFileAtomic(join(this.dir, "run.json"), `${JSON.stringify({ ...info, shard: this.shard }, null, 2)}\n`);
  }

  /** Closes the files; records superseded by a later one for the same path are dropped. */
  close(): { rows: number } {
    this.results.close();
    this.errors.close();
    if (this.superseded > 0) rewriteJsonl(join(this.dir, "results.jsonl"), [...this.byPath.values()]);
    return { rows: this.rows };
  }

  private remember(record: R): void {
    if (this.byPath.has(record.path)) {
      this.superseded++;
      this.byPath.delete(record.path); // re-inserted last: the file keeps the order results arrived in
    }
    this.byPath.set(record.path, record);
  }
}
