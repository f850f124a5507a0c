/**
 * The output folder of an embedding run: `embeddings.npy` (rows), `index.jsonl` (one record per
 * row, in row order), `errors.jsonl` (inputs that could not be embedded) and `run.json`.
 *
 * Rows are appended before their index records, so after a kill the index never names a row
 * that is missing; reopening cuts rows without a record. The index doubles as the resume
 * manifest: an input whose record matches is not embedded again. Records are keyed by what
 * identifies an input (an image's absolute path, a caption's line and text); a key written again
 * supersedes its earlier row.
 */
import { existsSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DamagedFileError, JsonlAppender, rewriteJsonl } from "./jsonl.js";
import type { FolderLock } from "./folder-lock.js";
import { openOutputFolder, OutputStore, recoverJsonl, type SourceFileRecord } from "./output-folder.js";
import { writeClipRetrievalLayout, type ClipRetrievalLayout } from "./clip-retrieval-layout.js";
import { METADATA_FILE, writeMetadataParquet, type MetadataColumn } from "./metadata-parquet.js";
import { NpyAppendWriter } from "./npy-writer.js";
import type { Shard } from "../sources/shard.js";

// Their first home was this module; merge, shards and the CLI's error table still import them from here.
export { OutputMismatchError, type ErrorRecord } from "./output-folder.js";

/** What every index record has: its row in embeddings.npy. */
export interface StoredRecord {
  row: number;
}

/** An image's record. */
export interface IndexRecord extends StoredRecord, SourceFileRecord {
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

export class EmbeddingStore<R extends StoredRecord = IndexRecord> extends OutputStore {
  private readonly vectors: NpyAppendWriter;
  private readonly index: JsonlAppender;
  /** Latest record per key. */
  private readonly byKey = new Map<string, R>();
  private superseded = 0;

  private constructor(
    dir: string,
    readonly dim: number,
    records: R[],
    vectors: NpyAppendWriter,
    private readonly keyBy: ((record: Omit<R, "row">) => string) | undefined,
    lock: FolderLock,
    shard: Shard | null,
    private readonly outputs: StoreOutputs | undefined,
  ) {
    super(dir, lock, shard);
    this.vectors = vectors;
    for (const r of records) this.remember(r);
    this.index = new JsonlAppender(join(dir, "index.jsonl"));
  }

  /**
   * Opens (or creates) the folder. `fingerprint` names what made the rows (model, graph,
   * preprocessing, normalisation); a folder made by something else, or for another `shard`, is
   * refused, not mixed. With `outputs`, close() also writes metadata.parquet and, if asked, the
   * clip-retrieval layout. Without `keyOf`, records are image records keyed by their absolute path.
   */
  static open<R extends StoredRecord = IndexRecord>(
    dir: string,
    dim: number,
    fingerprint: Record<string, unknown>,
    keyOf?: (record: Omit<R, "row">) => string,
    shard: Shard | null = null,
    outputs?: StoreOutputs,
  ): EmbeddingStore<R> {
    return openOutputFolder(dir, fingerprint, "embeddings", shard, (lock) => {
      finishCompaction(dir);
      const vectors = NpyAppendWriter.open(join(dir, "embeddings.npy"), dim);
      // Keep rows and records in step: drop records past the rows, rows past the records.
      const records = recoverJsonl<R>(join(dir, "index.jsonl"), (all) => {
        const kept = all.slice(0, Math.min(all.length, vectors.rows));
        const misplaced = kept.findIndex((r, i) => r.row !== i);
        if (misplaced >= 0) {
          throw new DamagedFileError(
            `${dir}/index.jsonl is out of order at line ${misplaced + 1} (row ${kept[misplaced].row} where row ${misplaced} belongs); ` +
              "it was not written by emb alone: restore it, or remove the folder and run again",
          );
        }
        return kept;
      });
      vectors.truncate(records.length);
      return new EmbeddingStore<R>(dir, dim, records, vectors, keyOf, lock, shard, outputs);
    });
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

  /** The current record of the image this run names `path` (in a folder keyed by path), however the folder's records spell it. */
  recordForInput(path: string): R | undefined {
    return this.byKey.get(this.inputKey(path));
  }

  /** Appends one embedding and its record; returns the row. */
  add(vector: Float32Array, record: Omit<R, "row">): number {
    const row = this.vectors.append(vector);
    const spelled = this.keyBy ? record : { ...record, path: this.recordedPath((record as unknown as IndexRecord).path) };
    const full = { row, ...spelled } as R;
    this.index.append([full]);
    this.remember(full);
    return row;
  }

  private keyOf(record: Omit<R, "row">): string {
    return this.keyBy ? this.keyBy(record) : this.storedKey((record as unknown as IndexRecord).path);
  }

  private remember(record: R): void {
    const key = this.keyOf(record);
    if (this.byKey.has(key)) this.superseded++;
    this.byKey.set(key, record);
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
      this.closeErrors((key) => this.byKey.has(key));
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
    this.closeErrors((key) => this.byKey.has(key));
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
