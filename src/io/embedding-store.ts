/**
 * The output folder of an embedding run: `embeddings.npy` (rows), `index.jsonl` (one record per
 * row, in row order), `errors.jsonl` (inputs that could not be embedded) and `run.json`.
 *
 * Rows are appended before their index records, so after a kill the index never names a row
 * that is missing; reopening cuts rows without a record. The index doubles as the resume
 * manifest: an input whose record matches is not embedded again. Records are keyed by what
 * identifies an input (an image's path, a caption's line and text); a key written again
 * supersedes its earlier row.
 */
import { existsSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { JsonlAppender, readJsonFile, readJsonl, rewriteJsonl, writeFileAtomic } from "./jsonl.js";
import { makeFolder } from "./directories.js";
import { lockFolder, type FolderLock } from "./folder-lock.js";
import { writeClipRetrievalLayout, type ClipRetrievalLayout } from "./clip-retrieval-layout.js";
import { METADATA_FILE, writeMetadataParquet, type MetadataColumn } from "./metadata-parquet.js";
import { NpyAppendWriter } from "./npy-writer.js";
import { shardLabel, type Shard } from "../sources/shard.js";

/** What every index record has: its row in embeddings.npy. */
export interface StoredRecord {
  row: number;
}

/** An image's record. */
export interface IndexRecord extends StoredRecord {
  path: string;
  bytes: number;
  mtimeMs: number;
  sha256: string;
  /** Source image size, after EXIF orientation. */
  width?: number;
  height?: number;
}

/** The columns of an image folder's metadata.parquet, in this order. */
export const IMAGE_METADATA: MetadataColumn[] = [
  { name: "row", type: "INT64" },
  { name: "path", type: "STRING" },
  { name: "bytes", type: "INT64" },
  { name: "mtimeMs", type: "DOUBLE" },
  { name: "sha256", type: "STRING" },
  { name: "width", type: "INT32" },
  { name: "height", type: "INT32" },
];

/** The columns of a caption folder's metadata.parquet (emb embed text's records), in this order. */
export const TEXT_METADATA: MetadataColumn[] = [
  { name: "row", type: "INT64" },
  { name: "line", type: "INT64" },
  { name: "text", type: "STRING" },
  { name: "sha256", type: "STRING" },
  { name: "truncated", type: "BOOLEAN" },
];

/** What an embedding folder holds besides embeddings.npy and index.jsonl: views of its records. */
export interface StoreOutputs {
  /** metadata.parquet's columns. */
  metadata: MetadataColumn[];
  clipRetrieval?: ClipRetrievalLayout;
}

/** Writes a finished folder's views from its final records (in row order): metadata.parquet, and the clip-retrieval layout if asked. */
export function writeFolderViews(dir: string, records: object[], outputs: StoreOutputs): void {
  writeMetadataParquet(join(dir, METADATA_FILE), records, outputs.metadata);
  if (outputs.clipRetrieval) writeClipRetrievalLayout(dir, records, outputs.metadata, outputs.clipRetrieval);
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

export class EmbeddingStore<R extends StoredRecord = IndexRecord> {
  private readonly vectors: NpyAppendWriter;
  private readonly index: JsonlAppender;
  private readonly errors: JsonlAppender;
  /** Latest record per key. */
  private readonly byKey = new Map<string, R>();
  private superseded = 0;

  private constructor(
    readonly dir: string,
    readonly dim: number,
    records: R[],
    vectors: NpyAppendWriter,
    private readonly keyOf: (record: Omit<R, "row">) => string,
    private readonly lock: FolderLock,
    private readonly shard: Shard | null,
    private readonly outputs: StoreOutputs | undefined,
  ) {
    this.vectors = vectors;
    for (const r of records) this.remember(r);
    this.index = new JsonlAppender(join(dir, "index.jsonl"));
    this.errors = new JsonlAppender(join(dir, "errors.jsonl"));
  }

  /**
   * Opens (or creates) the folder. `fingerprint` names what made the rows (model, graph,
   * preprocessing, normalisation); a folder made by something else, or for another `shard`, is
   * refused, not mixed. With `outputs`, close() also writes metadata.parquet and, if asked, the
   * clip-retrieval layout.
   */
  static open<R extends StoredRecord = IndexRecord>(
    dir: string,
    dim: number,
    fingerprint: Record<string, unknown>,
    keyOf: (record: Omit<R, "row">) => string = (r) => (r as unknown as IndexRecord).path,
    shard: Shard | null = null,
    outputs?: StoreOutputs,
  ): EmbeddingStore<R> {
    const lock = claimOutputFolder(dir, fingerprint, "embeddings", shard);
    try {
      finishCompaction(dir);
      const vectors = NpyAppendWriter.open(join(dir, "embeddings.npy"), dim);
      let records = readJsonl<R>(join(dir, "index.jsonl"));
      // Keep rows and records in step: drop records past the rows, rows past the records.
      const valid = Math.min(records.length, vectors.rows);
      records = records.slice(0, valid);
      if (records.some((r, i) => r.row !== i)) throw new Error(`${dir}/index.jsonl is out of order; remove the folder and re-run`);
      rewriteJsonl(join(dir, "index.jsonl"), records);
      vectors.truncate(valid);
      return new EmbeddingStore<R>(dir, dim, records, vectors, keyOf, lock, shard, outputs);
    } catch (error) {
      lock.release();
      throw error;
    }
  }

  get rows(): number {
    return this.vectors.rows;
  }

  /** The current records, one per key. */
  records(): R[] {
    return [...this.byKey.values()];
  }

  /** The current record under `key`, if there is one. */
  recordFor(key: string): R | undefined {
    return this.byKey.get(key);
  }

  /** Appends one embedding and its record; returns the row. */
  add(vector: Float32Array, record: Omit<R, "row">): number {
    const row = this.vectors.append(vector);
    const full = { row, ...record } as R;
    this.index.append([full]);
    this.remember(full);
    return row;
  }

  private remember(record: R): void {
    const key = this.keyOf(record);
    if (this.byKey.has(key)) this.superseded++;
    this.byKey.set(key, record);
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

  /**
   * Finishes the folder. Rows of files that changed and were embedded again are dropped, so
   * each path has exactly one row; that rewrite goes through temporary files and renames.
   * The views of the final records (metadata.parquet, the clip-retrieval layout) are written last.
   */
  close(): { rows: number; dropped: number } {
    const dropped = this.superseded;
    if (dropped === 0) {
      this.vectors.close();
      this.index.close();
      this.errors.close();
      this.writeViews(this.records());
      return { rows: this.rows, dropped: 0 };
    }
    const keep = [...this.byKey.values()].sort((a, b) => a.row - b.row);
    const compacted = NpyAppendWriter.open(join(this.dir, COMPACT_NPY), this.dim);
    const records = keep.map((r, i) => {
      compacted.append(this.vectors.readRows(r.row, 1));
      return { ...r, row: i };
    });
    compacted.close();
    this.vectors.close();
    this.index.close();
    this.errors.close();
    rewriteJsonl(join(this.dir, COMPACT_INDEX), records);
    // The marker makes the two renames one step: a reopen after a crash here finishes them.
    writeFileSync(join(this.dir, COMPACT_MARKER), "");
    finishCompaction(this.dir);
    this.writeViews(records);
    return { rows: records.length, dropped };
  }

  private writeViews(records: R[]): void {
    if (!this.outputs) return;
    writeFolderViews(
      this.dir,
      [...records].sort((a, b) => a.row - b.row),
      this.outputs,
    );
  }
}

const COMPACT_NPY = "embeddings.npy.compact";
const COMPACT_INDEX = "index.jsonl.compact";
const COMPACT_MARKER = "compact.commit";

function finishCompaction(dir: string): void {
  const marker = join(dir, COMPACT_MARKER);
  if (existsSync(marker)) {
    if (existsSync(join(dir, COMPACT_NPY))) renameSync(join(dir, COMPACT_NPY), join(dir, "embeddings.npy"));
    if (existsSync(join(dir, COMPACT_INDEX))) renameSync(join(dir, COMPACT_INDEX), join(dir, "index.jsonl"));
    rmSync(marker);
  }
  rmSync(join(dir, COMPACT_NPY), { force: true });
  rmSync(join(dir, COMPACT_INDEX), { force: true });
}
