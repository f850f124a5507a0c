/**
 * What every output folder of a run shares, whatever its records (EmbeddingStore's rows,
 * ResultStore's results): one writer at a time, a `run.json` that says what made the folder and
 * for which shard, `errors.jsonl` for inputs that failed (one record per input), and JSONL files
 * cut back to their complete lines when a run is resumed.
 *
 * Inputs are matched by their absolute path, resolved against the folder's `root` (the current
 * folder of the run that made it, kept in run.json), so `photos/a.jpg` and `/data/photos/a.jpg`
 * are one input however a resume spells them.
 */
import { existsSync, statSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
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

/** The files whose records say what a folder holds: present and not empty, they need a run.json to say what made them. */
const RECORD_FILES = ["index.jsonl", "results.jsonl"];

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
  if (!existsSync(runPath)) {
    const records = RECORD_FILES.find((name) => nonEmpty(join(dir, name)));
    if (records) {
      lock.release();
      throw new OutputMismatchError(
        `${dir} holds ${what} (${records}) but no run.json saying which model made them, so new rows could not be proven to match; ` +
          "restore its run.json, or choose another --out or remove that folder",
      );
    }
    return lock;
  }
  const previous = readJsonFile<{ fingerprint?: unknown; shard?: Shard | null }>(
    runPath,
    "it records which model made the folder: restore it, or remove the folder to start again",
  );
  if (!isPlainObject(previous.fingerprint)) {
    lock.release();
    throw new OutputMismatchError(
      `${dir} holds ${what} whose run.json does not say which model made them (no fingerprint), so new rows could not be proven to match; ` +
        "choose another --out or remove that folder",
    );
  }
  if (JSON.stringify(previous.fingerprint) !== JSON.stringify(fingerprint)) {
    lock.release();
    throw new OutputMismatchError(`${dir} holds ${what} ${madeWith(previous.fingerprint, fingerprint)}; choose another --out or remove that folder`);
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

function nonEmpty(path: string): boolean {
  try {
    return statSync(path).size > 0;
  } catch {
    return false;
  }
}

/** How a folder's fingerprint differs from this run's, as the refusal says it. */
function madeWith(before: unknown, now: Record<string, unknown>): string {
  if (isPlainObject(before) && before.weights === undefined && now.weights !== undefined) {
    return "made by an earlier emb, which did not record the content of the model's files, so they cannot be proven to come from this model";
  }
  return `made with ${fingerprintDifference(before, now)}`;
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
  // A content hash is told apart by its first 12 digits; the whole one is in run.json.
  const hash = (value: unknown) => typeof value === "string" && /^sha256:[0-9a-f]{64}$/.test(value);
  const shown = (value: unknown) =>
    value === undefined ? "none" : isPlainObject(value) ? "set" : hash(value) ? `"${(value as string).slice(0, 19)}…"` : JSON.stringify(value);
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

/** The folder relative paths in its records are relative to: the first run's current folder (run.json `root`). */
function folderRoot(dir: string): string {
  const runPath = join(dir, "run.json");
  if (existsSync(runPath)) {
    const root = readJsonFile<{ root?: unknown }>(runPath, "restore it, or remove the folder to start again").root;
    if (typeof root === "string" && isAbsolute(root)) return root;
  }
  return process.cwd();
}

/** The part of a store every output folder has: errors.jsonl, run.json and the folder's lock. */
export abstract class OutputStore {
  private readonly errors: JsonlAppender;
  /** The latest failure of each input, by inputKey. */
  private readonly errorsByInput = new Map<string, ErrorRecord>();
  /** See folderRoot. */
  readonly root: string;

  protected constructor(
    readonly dir: string,
    private readonly lock: FolderLock,
    private readonly shard: Shard | null,
  ) {
    this.root = folderRoot(dir);
    for (const record of recoverJsonl<ErrorRecord>(join(dir, "errors.jsonl"))) this.errorsByInput.set(this.storedKey(record.path), record);
    this.errors = new JsonlAppender(join(dir, "errors.jsonl"));
  }

  /**
   * An input path as this folder's records spell it: as given, but a relative path given from
   * another folder than the root is made absolute, so it still names the same file.
   */
  recordedPath(path: string): string {
    return isAbsolute(path) || process.cwd() === this.root ? path : resolve(path);
  }

  /** The key an input given by this run (`path` as given) is matched on. */
  inputKey(path: string): string {
    return resolve(path);
  }

  /** The key of a record's path, as the folder spells it. */
  protected storedKey(path: string): string {
    return resolve(this.root, path);
  }

  /** Records an input's failure; a failure recorded for it before is replaced (errors.jsonl keeps one record per input). */
  addError(record: ErrorRecord): void {
    const recorded = { ...record, path: this.recordedPath(record.path) };
    this.errors.append([recorded]);
    this.errorsByInput.set(this.inputKey(record.path), recorded);
  }

  /** Writes run.json: `info` with the folder's root and shard (null: all inputs), which a resume must match. */
  writeRunInfo(info: Record<string, unknown>): void {
    writeFileAtomic(join(this.dir, "run.json"), `${JSON.stringify({ ...info, root: this.root, shard: this.shard }, null, 2)}\n`);
  }

  /** Lets other runs write the folder: after close() and the last run.json. */
  unlock(): void {
    this.lock.release();
  }

  /**
   * Closes errors.jsonl, rewritten to hold each input's latest failure once, without the inputs
   * that `succeeded` (given the key) says now have their output.
   */
  protected closeErrors(succeeded: (key: string) => boolean = () => false): void {
    this.errors.close();
    const kept = [...this.errorsByInput].filter(([key]) => !succeeded(key)).map(([, record]) => record);
    if (kept.length > 0 || existsSync(join(this.dir, "errors.jsonl"))) rewriteJsonl(join(this.dir, "errors.jsonl"), kept);
  }
}
