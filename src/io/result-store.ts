/**
 * The output folder of a generation run: `results.jsonl` (one record per input, in input order),
 * `errors.jsonl` and `run.json`. Records are appended as results arrive, so a killed run keeps
 * every finished result; the records double as the resume manifest (an input whose path, size
 * and mtime match is not run again). A record written again for the same input (by absolute
 * path, however spelled) supersedes the old one, which close() drops.
 */
import { join } from "node:path";
import type { FolderLock } from "./folder-lock.js";
import { JsonlAppender, rewriteJsonl } from "./jsonl.js";
import { openOutputFolder, OutputStore, recoverJsonl, type SourceFileRecord } from "./output-folder.js";
import type { Shard } from "../sources/shard.js";

export type ResultRecord = SourceFileRecord;

export class ResultStore<R extends ResultRecord> extends OutputStore {
  private readonly results: JsonlAppender;
  private readonly byPath = new Map<string, R>();
  private superseded = 0;

  private constructor(dir: string, records: R[], lock: FolderLock, shard: Shard | null) {
    super(dir, lock, shard);
    for (const r of records) this.remember(r);
    this.results = new JsonlAppender(join(dir, "results.jsonl"));
  }

  /** Opens (or creates) the folder; one made with another fingerprint (model, task, settings) or for another shard is refused. */
  static open<R extends ResultRecord>(dir: string, fingerprint: Record<string, unknown>, shard: Shard | null = null): ResultStore<R> {
    return openOutputFolder(dir, fingerprint, "results", shard, (lock) => new ResultStore<R>(dir, recoverJsonl<R>(join(dir, "results.jsonl")), lock, shard));
  }

  /** The current record of the input this run names `path`. */
  recordFor(path: string): R | undefined {
    return this.byPath.get(this.inputKey(path));
  }

  get rows(): number {
    return this.byPath.size;
  }

  add(record: R): void {
    const spelled = { ...record, path: this.recordedPath(record.path) };
    this.results.append([spelled]);
    this.remember(spelled);
  }

  /** Closes the files; records superseded by a later one for the same path are dropped. */
  close(): { rows: number } {
    this.results.close();
    this.closeErrors((key) => this.byPath.has(key));
    if (this.superseded > 0) rewriteJsonl(join(this.dir, "results.jsonl"), [...this.byPath.values()]);
    return { rows: this.rows };
  }

  private remember(record: R): void {
    const key = this.storedKey(record.path);
    if (this.byPath.has(key)) {
      this.superseded++;
      this.byPath.delete(key); // re-inserted last: the file keeps the order results arrived in
    }
    this.byPath.set(key, record);
  }
}
