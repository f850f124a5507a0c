/**
 * Several output folders of one job, read as one: the shards a run split over machines wrote
 * (`--shard i/n`, each into its own --out), or any folders made by the same command, model and
 * settings. Used by `emb merge` to write one folder, and by the evaluations to read shards
 * directly.
 *
 * The checks: every folder is the same kind and was made by the same command with the same
 * run.json fingerprint (the shard spec aside); every run finished (run.json status "complete")
 * unless partial folders are allowed; when the folders record their shard, every shard of the
 * count is there; a key (an image's path, a caption's line and content) in two folders must
 * carry the same content there (the file's SHA-256; for results also the same answer), and is
 * then kept once, from the first folder named. Records come back in one stable order: images and results by
 * path, compared folder by folder as the input walk sorts them, so merged shards of a folder
 * are in the order a one-process run over that folder writes; captions by input line.
 */
import { existsSync, readdirSync, realpathSync, statSync } from "node:fs";
import { join } from "node:path";
import type { ErrorRecord, IndexRecord, StoredRecord } from "./embedding-store.js";
import { readJsonFile, readJsonl } from "./jsonl.js";
import { NpyRowReader } from "./npy.js";
import type { Shard } from "../sources/shard.js";

/** Folders that cannot be read as one: named, with the differing keys or values and the fix. */
export class ShardError extends Error {}

export type FolderKind = "embeddings" | "results";

/** What run.json records (only the fields read here). */
export interface RunInfo {
  command?: string;
  fingerprint?: Record<string, unknown>;
  status?: string;
  /** What the stores write: the run's --shard, or null for all inputs. */
  shard?: Shard | null;
  model?: unknown;
  [field: string]: unknown;
}

export interface OutputFolder {
  dir: string;
  kind: FolderKind;
  run: RunInfo;
  /** The shard this folder holds, when its run.json records one. */
  shard?: Shard;
  finished: boolean;
}

export function readOutputFolder(dir: string): OutputFolder {
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory())
    throw new ShardError(`${dir} is not a folder: give output folders of emb embed image|text or emb florence`);
  const kind: FolderKind | undefined = existsSync(join(dir, "embeddings.npy")) ? "embeddings" : existsSync(join(dir, "results.jsonl")) ? "results" : undefined;
  if (!kind) throw new ShardError(`${dir} holds neither embeddings.npy nor results.jsonl: give output folders of emb embed image|text or emb florence`);
  const runPath = join(dir, "run.json");
  if (!existsSync(runPath)) throw new ShardError(`${dir} has no run.json, so what made it cannot be checked: give folders written by emb`);
  const run = readJsonFile<RunInfo>(runPath, "it records which model made the folder: restore it, or run the same command on that folder again");
  return { dir, kind, run, shard: run.shard ?? undefined, finished: run.status === "complete" };
}

/** The command that wrote a folder, as its run.json names it ("emb embed image"); never "emb undefined". */
function madeBy(run: RunInfo): string {
  return run.command ? `emb ${run.command}` : "a run whose run.json names no command";
}

/** The fingerprint every shard of one job shares (the shard spec is recorded beside it, not in it). */
export function jobFingerprint(run: RunInfo): Record<string, unknown> {
  return run.fingerprint ?? {};
}

/** Refuses folders that are not shards of one finished job (see the module comment). */
export function checkSameJob(folders: OutputFolder[], allowPartial: boolean): void {
  if (folders.length === 0) throw new ShardError("no folders given");
  const seen = new Map<string, string>();
  for (const f of folders) {
    const real = realpathSync(f.dir);
    if (seen.has(real)) throw new ShardError(`${f.dir} is given twice (also as ${seen.get(real)}): name each folder once`);
    seen.set(real, f.dir);
  }
  const [first] = folders;
  for (const f of folders.slice(1)) {
    if (f.kind !== first.kind) throw new ShardError(`${f.dir} holds ${f.kind}, ${first.dir} holds ${first.kind}: only folders of one kind can be read as one`);
    if (f.run.command !== first.run.command) {
      throw new ShardError(`${f.dir} was written by ${madeBy(f.run)}, ${first.dir} by ${madeBy(first.run)}: only folders of one command can be read as one`);
    }
    const a = jobFingerprint(first.run);
    const b = jobFingerprint(f.run);
    const differing = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
    if (differing.length > 0) {
      const shown = differing.map((k) => `${k} ${JSON.stringify(b[k]) ?? "(none)"} there, ${JSON.stringify(a[k]) ?? "(none)"} in ${first.dir}`);
      throw new ShardError(
        `${f.dir} was made with other settings than ${first.dir} (run.json fingerprint: ${shown.join("; ")}): its rows cannot be mixed with theirs; run that shard again with the same model and flags`,
      );
    }
  }
  if (allowPartial) return;
  const unfinished = folders.filter((f) => !f.finished);
  if (unfinished.length > 0) {
    const shown = unfinished.map((f) => `${f.dir} (run.json status ${JSON.stringify(f.run.status ?? null)})`).join(", ");
    throw new ShardError(`unfinished: ${shown}; run the same command on that --out again to finish it, or pass --allow-partial to take what it holds`);
  }
  const missing = missingShards(folders);
  if (missing.length > 0) {
    throw new ShardError(
      `shard(s) ${missing.join(", ")} of ${folders[0].shard!.count} are not among the folders given; add them, or pass --allow-partial to take the shards that are here`,
    );
  }
}

/** Shards (0-based, as --shard numbers them) of the recorded count that no folder holds; none when the folders record no shard. */
export function missingShards(folders: OutputFolder[]): string[] {
  const shards = folders.map((f) => f.shard);
  if (shards.some((s) => s === undefined)) return [];
  const count = Math.max(...shards.map((s) => s!.count));
  const present = new Set(shards.map((s) => s!.index));
  return [...Array(count).keys()].filter((i) => !present.has(i)).map((i) => `${i}/${count}`);
}

/** Input walk order: path components compared one by one, as each folder's entries are sorted. */
export function comparePaths(a: string, b: string): number {
  const x = a.split("/");
  const y = b.split("/");
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return x[i] < y[i] ? -1 : 1;
  }
  return x.length - y.length;
}

/** How a command's records are keyed, ordered and compared for identical content. */
interface RecordKind {
  key: (r: Record<string, unknown>) => string;
  compare: (a: Record<string, unknown>, b: Record<string, unknown>) => number;
  /** The fields that must agree for two records of one key to count as the same. */
  content: (r: Record<string, unknown>) => string;
}

const byPath: RecordKind = {
  key: (r) => String(r.path),
  compare: (a, b) => comparePaths(String(a.path), String(b.path)),
  content: (r) => String(r.sha256),
};

const RECORD_KINDS: Record<string, RecordKind> = {
  "embed image": byPath,
  "embed text": {
    key: (r) => `${r.line}:${r.sha256}`,
    compare: (a, b) => (a.line as number) - (b.line as number) || (String(a.sha256) < String(b.sha256) ? -1 : 1),
    content: (r) => String(r.sha256),
  },
  florence: { ...byPath, content: (r) => JSON.stringify([r.sha256, r.generated, r.result]) },
};

function recordKind(folder: OutputFolder): RecordKind {
  const kind = RECORD_KINDS[folder.run.command ?? ""];
  if (!kind)
    throw new ShardError(
      `${folder.dir} was written by ${JSON.stringify(folder.run.command ?? null)}; folders of ${Object.keys(RECORD_KINDS)
        .map((c) => `emb ${c}`)
        .join(", ")} can be read as one`,
    );
  return kind;
}

/** A record and the folder (index into the folders) it came from. */
export interface Sourced<R> {
  record: R;
  folder: number;
}

/**
 * One folder's current records: the latest per key (a run killed before it compacted may hold a
 * superseded one), and for embeddings only those whose row is on disk.
 */
function currentRecords<R>(records: R[], key: (r: Record<string, unknown>) => string): R[] {
  const latest = new Map<string, R>();
  for (const r of records) {
    const k = key(r as Record<string, unknown>);
    latest.delete(k); // re-inserted last, as the stores keep the order records arrived in
    latest.set(k, r);
  }
  return [...latest.values()];
}

/**
 * Every folder's records in one stable order, each key once. A key in several folders is kept
 * once when `identical` says their contents agree, and refused otherwise.
 */
function joinRecords<R>(folders: OutputFolder[], lists: R[][], kind: RecordKind, identical: (a: Sourced<R>, b: Sourced<R>) => boolean): Sourced<R>[] {
  const byKey = new Map<string, Sourced<R>>();
  const conflicts: string[] = [];
  lists.forEach((records, folder) => {
    for (const record of records) {
      const k = kind.key(record as Record<string, unknown>);
      const here = { record, folder };
      const earlier = byKey.get(k);
      if (!earlier) byKey.set(k, here);
      else if (!identical(earlier, here)) conflicts.push(`${k} (in ${folders[earlier.folder].dir} and ${folders[folder].dir})`);
    }
  });
  if (conflicts.length > 0) {
    const shown = conflicts.slice(0, 5).join(", ") + (conflicts.length > 5 ? ` and ${conflicts.length - 5} more` : "");
    throw new ShardError(
      `${conflicts.length} input(s) are in more than one folder with different content: ${shown}; each input must be in one shard (or the same in both): remove it from one of them and run that shard again`,
    );
  }
  return [...byKey.values()].sort((a, b) => kind.compare(a.record as Record<string, unknown>, b.record as Record<string, unknown>));
}

/** The errors of every folder, each once, in path order. */
function joinErrors(folders: OutputFolder[]): ErrorRecord[] {
  const seen = new Set<string>();
  const errors: ErrorRecord[] = [];
  for (const f of folders) {
    for (const e of readJsonl<ErrorRecord>(join(f.dir, "errors.jsonl"))) {
      const text = JSON.stringify([e.path, e.reason, e.error]);
      if (!seen.has(text)) errors.push(e);
      seen.add(text);
    }
  }
  return errors.sort((a, b) => comparePaths(a.path, b.path));
}

/** Embedding folders read as one: records renumbered in merged order, vectors read on demand. */
export interface ShardedEmbeddings<R extends StoredRecord = IndexRecord> {
  folders: OutputFolder[];
  dim: number;
  /** Merged records, `row` renumbered 0.. in merged order. */
  records: R[];
  /** The folder (index into `folders`) each merged row comes from. */
  folderOf: number[];
  errors: ErrorRecord[];
  /** The vector of a merged row. */
  vector(row: number): Float32Array;
  close(): void;
}

export function readShardedEmbeddings<R extends StoredRecord = IndexRecord>(dirs: string[], allowPartial: boolean): ShardedEmbeddings<R> {
  const folders = dirs.map(readOutputFolder);
  checkSameJob(folders, allowPartial);
  if (folders[0].kind !== "embeddings")
    throw new ShardError(`${folders[0].dir} holds results, not embeddings: give folders written by emb embed image or emb embed text`);
  const kind = recordKind(folders[0]);
  const readers: NpyRowReader[] = [];
  try {
    for (const f of folders) readers.push(NpyRowReader.open(join(f.dir, "embeddings.npy")));
    const dim = readers[0].dim;
    readers.forEach((r, i) => {
      if (r.dim !== dim)
        throw new ShardError(`${folders[i].dir}/embeddings.npy has rows of ${r.dim}, ${folders[0].dir}'s of ${dim}: they were not made by one model`);
    });
    const lists = folders.map((f, i) =>
      currentRecords(
        readJsonl<R>(join(f.dir, "index.jsonl")).filter((r) => r.row < readers[i].rows),
        kind.key,
      ),
    );
    // Same content under one fingerprint is the same input through the same model: its vectors
    // differ at most by float rounding (batch composition), so the first folder's row is kept.
    const joined = joinRecords(
      folders,
      lists,
      kind,
      (a, b) => kind.content(a.record as unknown as Record<string, unknown>) === kind.content(b.record as unknown as Record<string, unknown>),
    );
    return {
      folders,
      dim,
      records: joined.map((s, row) => ({ ...s.record, row })),
      folderOf: joined.map((s) => s.folder),
      errors: joinErrors(folders),
      vector: (row) => readers[joined[row].folder].row(joined[row].record.row),
      close: () => readers.forEach((r) => r.close()),
    };
  } catch (error) {
    readers.forEach((r) => r.close());
    throw error;
  }
}

/** Result folders (emb florence) read as one. */
export function readShardedResults<R extends { path: string }>(
  dirs: string[],
  allowPartial: boolean,
): { folders: OutputFolder[]; records: R[]; folderOf: number[]; errors: ErrorRecord[] } {
  const folders = dirs.map(readOutputFolder);
  checkSameJob(folders, allowPartial);
  if (folders[0].kind !== "results") throw new ShardError(`${folders[0].dir} holds embeddings, not results: give folders written by emb florence`);
  const kind = recordKind(folders[0]);
  const lists = folders.map((f) => currentRecords(readJsonl<R>(join(f.dir, "results.jsonl")), kind.key));
  const joined = joinRecords(
    folders,
    lists,
    kind,
    (a, b) => kind.content(a.record as unknown as Record<string, unknown>) === kind.content(b.record as unknown as Record<string, unknown>),
  );
  return { folders, records: joined.map((s) => s.record), folderOf: joined.map((s) => s.folder), errors: joinErrors(folders) };
}

/** Whether `dir` is a folder with nothing in it (or not there at all). */
export function isEmptyOrAbsent(dir: string): boolean {
  return !existsSync(dir) || (statSync(dir).isDirectory() && readdirSync(dir).length === 0);
}
