/**
 * What every output folder of a run shares, whatever its records (EmbeddingStore's rows,
 * ResultStore's results): one writer at a time, a `run.json` that says what made the folder and
 * for which shard, `errors.jsonl` for inputs that failed, and JSONL files cut back to their
 * complete lines when a run is resumed.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { makeFolder } from "./directories.js";
import { lockFolder, type FolderLock } from "./folder-lock.js";
import { JsonlAppender, readJsonFile, readJsonl, rewriteJsonl, writeFileAtomic } from "./jsonl.js";
import { shardLabel, type Shard } from "../sources/shard.js";

/** What identifies an input file in a store's records, so a resumed run skips the files it has already done. */
export interface SourceFileRecord {
  path: string;
  bytes: number;
  mtimeMs: number;
  sha256: string;
}

export interface ErrorRecord {
  path: string;
  reason: string;
  error: string;
  time: string;
}

export class OutputMismatchError extends Error {}

/**
 * Creates an output folder, or checks that the one there was made by the same thing: its
 * run.json `fingerprint` (model, graph, preprocessing, settings) must equal `fingerprint`, and its
 * `shard` (null or absent: all inputs) must be `shard`, so outputs of different runs, or of
 * different shards, are refused rather than mixed.
 */
export function claimOutputFolder(dir: string, fingerprint: Record<string, unknown>, what: string, shard: Shard | null = null): FolderLock {
  makeFolder(dir);
  const lock = lockFolder(dir);
  const runPath = join(dir, "run.json");
  if (!existsSync(runPath)) return lock;
  const previous = readJsonFile<{ fingerprint?: unknown; shard?: Shard | null }>(
    runPath,
    "it records which model made the folder: restore it, or remove the folder to start again",
  );
  if (JSON.stringify(previous.fingerprint) !== JSON.stringify(fingerprint)) {
    lock.release();
    throw new OutputMismatchError(
      `${dir} holds ${what} made with ${fingerprintDifference(previous.fingerprint, fingerprint)}; choose another --out or remove that folder`,
    );
  }
  const before = previous.shard ?? null;
  if (before?.index !== shard?.index || before?.count !== shard?.count) {
    lock.release();
    const resume = before ? `--shard ${before.index}/${before.count}` : "--shard 0/1 (all inputs)";
    throw new OutputMismatchError(
      `${dir} holds ${what} of shard ${shardLabel(before)}, not of shard ${shardLabel(shard)}; give each shard its own --out ` +
        `(e.g. --out emb/shard-$SLURM_ARRAY_TASK_ID), or resume this folder with ${resume}`,
    );
  }
  return lock;
}

/**
 * What sets two fingerprints apart, for the refusal: `other labels (labels ["a"], not ["b"])`
 * names only the keys that differ, nested ones by path (preprocessing.width); a group of
 * settings only one side has (an image run's preprocessing) is "set", not dumped, so the
 * refusal stays one readable line. Both whole when they are not objects or differ only in order.
 */
function fingerprintDifference(before: unknown, now: Record<string, unknown>): string {
  const whole = `${JSON.stringify(before)}, not ${JSON.stringify(now)}`;
  if (!isPlainObject(before)) return whole;
  const shown = (value: unknown) => (value === undefined ? "none" : isPlainObject(value) ? "set" : JSON.stringify(value));
  const differing: { key: string; was: string; is: string }[] = [];
  const compare = (was: Record<string, unknown>, is: Record<string, unknown>, prefix: string) => {
    for (const k of new Set([...Object.keys(was), ...Object.keys(is)])) {
      if (isPlainObject(was[k]) && isPlainObject(is[k])) compare(was[k], is[k], `${prefix}${k}.`);
      else if (shown(was[k]) !== shown(is[k])) differing.push({ key: `${prefix}${k}`, was: shown(was[k]), is: shown(is[k]) });
    }
  };
  compare(before, now, "");
  if (differing.length === 0) return whole;
  return `other ${differing.map((d) => d.key).join(", ")} (${differing.map((d) => `${d.key} ${d.was}, not ${d.is}`).join("; ")})`;
}

const isPlainObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * Claims `dir` (see claimOutputFolder) and opens its store with `open`; should that fail (a
 * damaged file), the folder is let go again, so the error is the only thing the caller must handle.
 */
export function openOutputFolder<T>(dir: string, fingerprint: Record<string, unknown>, what: string, shard: Shard | null, open: (lock: FolderLock) => T): T {
  const lock = claimOutputFolder(dir, fingerprint, what, shard);
  try {
    return open(lock);
  } catch (error) {
    lock.release();
    throw error;
  }
}

/**
 * The complete records of a JSONL file, with the file rewritten to hold exactly those `keep`
 * returns: a torn last line (a kill mid-write) is dropped by the reader and by this rewrite, so
 * the next append starts on a line of its own. `keep` may throw to leave the file as it is.
 */
export function recoverJsonl<R>(path: string, keep: (records: R[]) => R[] = (records) => records): R[] {
  const records = keep(readJsonl<R>(path));
  rewriteJsonl(path, records);
  return records;
}

/** The part of a store every output folder has: errors.jsonl, run.json and the folder's lock. */
export abstract class OutputStore {
  private readonly errors: JsonlAppender;

  protected constructor(
    readonly dir: string,
    private readonly lock: FolderLock,
    private readonly shard: Shard | null,
  ) {
    this.errors = new JsonlAppender(join(dir, "errors.jsonl"));
  }

  addError(record: ErrorRecord): void {
    this.errors.append([record]);
  }

  /** Writes run.json: `info` with the folder's shard (null: all inputs), which a resume must match. */
  writeRunInfo(info: Record<string, unknown>): void {
    writeFileAtomic(join(this.dir, "run.json"), `${JSON.stringify({ ...info, shard: this.shard }, null, 2)}\n`);
  }

  /** Lets other runs write the folder: after close() and the last run.json. */
  unlock(): void {
    this.lock.release();
  }

  protected closeErrors(): void {
    this.errors.close();
  }
}
