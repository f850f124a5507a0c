/**
 * `emb merge`: the output folders of one job's shards joined into one folder of the same format
 * (embeddings.npy + index.jsonl + metadata.parquet, or results.jsonl; errors.jsonl; run.json),
 * which the same command can resume and the evaluations read like any run's.
 *
 * The folder is built under a temporary name beside --out and renamed into place when whole, so
 * a kill never leaves a half-merged folder under the name asked for.
 */
import { existsSync, renameSync, rmdirSync, rmSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { versions } from "../version.js";
import { makeFolder } from "./directories.js";
import { IMAGE_METADATA, TEXT_METADATA, writeFolderViews, type ErrorRecord } from "./embedding-store.js";
import { rewriteJsonl, writeFileAtomic } from "./jsonl.js";
import { appendRows, NpyAppendWriter } from "./npy-writer.js";
import {
  isEmptyOrAbsent,
  jobFingerprint,
  missingShards,
  readOutputFolder,
  readShardedEmbeddings,
  readShardedResults,
  ShardError,
  type OutputFolder,
} from "./shards.js";

export interface MergedFolder {
  dir: string;
  shard: { index: number; count: number } | null;
  /** Its run.json status. */
  status: string | null;
  /** Rows (or results) it gave the merged folder. */
  rows: number;
}

export interface MergeSummary {
  out: string;
  command: string;
  /** "complete", or "partial" when an unfinished folder or a missing shard was let through. */
  status: "complete" | "partial";
  rows: number;
  errors: number;
  merged: MergedFolder[];
  missingShards: string[];
}

/**
 * Builds a folder under a temporary name beside `out` with `fill`, then renames it to `out`.
 * `out` must be empty or absent: a merge never mixes into an existing folder.
 */
export function writeFolderAtomically(out: string, fill: (dir: string) => void): void {
  if (!isEmptyOrAbsent(out)) throw new ShardError(`--out ${out} already holds files; choose a new folder (or remove that one) for the merged output`);
  const target = resolve(out);
  makeFolder(dirname(target));
  const temporary = join(dirname(target), `.${basename(target)}.merging-${process.pid}`);
  rmSync(temporary, { recursive: true, force: true });
  makeFolder(temporary);
  try {
    fill(temporary);
    if (existsSync(target)) rmdirSync(target); // empty, checked above
    renameSync(temporary, target);
  } catch (error) {
    rmSync(temporary, { recursive: true, force: true });
    throw error;
  }
}

export interface MergeOptions {
  /** Also merge unfinished folders and sets with shards missing. */
  allowPartial: boolean;
  /** Embeddings: also write the clip-retrieval layout, in parts of this many rows. */
  clipRetrievalRows?: number;
}

/** Merges the output folders `dirs` (shards of one emb embed image|text or emb florence job) into `out`. */
export function mergeOutputs(dirs: string[], out: string, options: MergeOptions): MergeSummary {
  const { allowPartial, clipRetrievalRows } = options;
  const kind = readOutputFolder(dirs[0]).kind;
  if (kind !== "embeddings" && clipRetrievalRows !== undefined) {
    throw new ShardError(`${dirs[0]} holds results, not embeddings: --layout clip-retrieval lays out embedding folders only; drop it`);
  }
  let folders: OutputFolder[] = [];
  let folderOf: number[] = [];
  let errors: ErrorRecord[] = [];
  writeFolderAtomically(out, (dir) => {
    if (kind === "embeddings") {
      const shards = readShardedEmbeddings(dirs, allowPartial);
      ({ folders, folderOf, errors } = shards);
      try {
        const writer = NpyAppendWriter.open(join(dir, "embeddings.npy"), shards.dim);
        appendRows(writer, shards.records.length, shards.vector);
        writer.close();
      } finally {
        shards.close();
      }
      rewriteJsonl(join(dir, "index.jsonl"), shards.records);
      const text = folders[0].run.command === "embed text";
      writeFolderViews(dir, shards.records, {
        metadata: text ? TEXT_METADATA : IMAGE_METADATA,
        clipRetrieval: clipRetrievalRows === undefined ? undefined : { kind: text ? "text" : "image", partRows: clipRetrievalRows },
      });
    } else {
      const results = readShardedResults(dirs, allowPartial);
      ({ folders, folderOf, errors } = results);
      rewriteJsonl(join(dir, "results.jsonl"), results.records);
    }
    rewriteJsonl(join(dir, "errors.jsonl"), errors);
    const summary = describe(out, folders, folderOf, errors.length);
    const { command, model } = folders[0].run;
    // shard null: the merged folder holds every shard's inputs, so the same command without --shard resumes it.
    const runInfo = {
      command,
      fingerprint: jobFingerprint(folders[0].run),
      model,
      shard: null,
      status: summary.status,
      rows: summary.rows,
      mergedAt: new Date().toISOString(),
      merged: summary.merged,
      versions: versions(),
    };
    writeFileAtomic(join(dir, "run.json"), `${JSON.stringify(runInfo, null, 2)}\n`);
  });
  return describe(out, folders, folderOf, errors.length);
}

function describe(out: string, folders: OutputFolder[], folderOf: number[], errors: number): MergeSummary {
  const counts = folders.map(() => 0);
  for (const f of folderOf) counts[f]++;
  const missing = missingShards(folders);
  const partial = missing.length > 0 || folders.some((f) => !f.finished);
  return {
    out,
    command: folders[0].run.command ?? "",
    status: partial ? "partial" : "complete",
    rows: folderOf.length,
    errors,
    merged: folders.map((f, i) => ({ dir: f.dir, shard: f.shard ?? null, status: f.run.status ?? null, rows: counts[i] })),
    missingShards: missing,
  };
}
