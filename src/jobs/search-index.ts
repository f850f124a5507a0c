/**
 * The neighbour index emb search and emb dedup query: exact (BlockedExactIndex: every row scored)
 * or an HNSW graph (hnswlib-node: approximate, for large folders), chosen by --index.
 *
 * The HNSW graph takes minutes to build at a million rows, so it is built once and cached beside
 * the embeddings, in <folder>/search-index/hnsw-m16-efc100-seed100.bin, with a .json beside it
 * recording what it was built from: the parameters, the rows and dimensions, and per folder the
 * SHA-256 of index.jsonl and embeddings.npy's size and modification time. A later run reuses the
 * graph when all of those still match and builds it again when anything changed (rows appended,
 * replaced or re-embedded). Shard folders given together are cached in the first one, under a
 * name keyed by all of their paths, so the shard searched alone keeps its own graph. Where the
 * cache cannot be written the graph is built in memory, and stderr says so.
 */
import { createHash } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { isClipRetrievalImageFolder } from "../io/clip-retrieval-layout.js";
import {
  BlockedExactIndex,
  DEFAULT_HNSW,
  HnswIndex,
  hnswUnavailableNotice,
  loadHnsw,
  type HnswOptions,
  type NeighbourIndex,
  type RowSource,
} from "../eval/knn/search.js";

export const INDEX_KINDS = ["auto", "exact", "hnsw"] as const;
export type IndexKind = (typeof INDEX_KINDS)[number];

/**
 * Rows from which --index auto uses HNSW. Nothing defaults to auto: exact search answers 100
 * queries over a million rows in under half a minute, where the graph first takes over an hour to
 * build, and emb dedup's exact pairs beat the graph at every size measured (bench/RESULTS.md,
 * "emb search and emb dedup at scale"). Auto is for a large folder searched again and again,
 * where the build is paid once and each query then costs milliseconds.
 */
export const HNSW_FROM_ROWS = 200_000;

export const SEARCH_INDEX_DIR = "search-index";

/**
 * The graph's parameters: knn eval's, but efConstruction 100, not 200: building costs about
 * 1.6x less (20,000 random rows of 1,152: 36 s against 58 s; hnswlib-node adds one row at a time,
 * on one core), which at a million rows saves the better part of an hour.
 */
export const SEARCH_HNSW: HnswOptions = { ...DEFAULT_HNSW, efConstruction: 100 };

export interface IndexEvents {
  /** One line for stderr: the cached graph reused or built, or why it is not cached. */
  onNotice?: (line: string) => void;
  onBuildStart?: (rows: number) => void;
  onBuildProgress?: () => void;
  onBuildEnd?: () => void;
}

export interface OpenedIndex {
  index: NeighbourIndex;
  kind: "exact" | "hnsw";
}

/** Which search --index means for a folder of `rows` rows. */
export function chooseIndex(kind: IndexKind, rows: number): "exact" | "hnsw" {
  return kind === "auto" ? (rows >= HNSW_FROM_ROWS ? "hnsw" : "exact") : kind;
}

/** What a cached graph was built from, per folder: emb's files, or a clip-retrieval layout's parts. */
type FolderState = { indexSha256: string; npyBytes: number; npyMtimeMs: number } | { parts: { file: string; sha256: string }[] };

interface CacheRecord {
  format: 1;
  space: "cosine";
  rows: number;
  dim: number;
  m: number;
  efConstruction: number;
  seed: number;
  folders: FolderState[];
}

function fileSha256(path: string): string {
  const hash = createHash("sha256");
  const fd = openSync(path, "r");
  try {
    const chunk = Buffer.alloc(8 << 20);
    for (let read = readSync(fd, chunk); read > 0; read = readSync(fd, chunk)) hash.update(chunk.subarray(0, read));
  } finally {
    closeSync(fd);
  }
  return hash.digest("hex");
}

function folderState(dir: string): FolderState {
  if (isClipRetrievalImageFolder(dir)) {
    const files = ["img_emb", "metadata"].flatMap((sub) => readdirSync(join(dir, sub)).map((f) => join(sub, f)));
    return { parts: files.sort().map((file) => ({ file, sha256: fileSha256(join(dir, file)) })) };
  }
  const npy = statSync(join(dir, "embeddings.npy"));
  return { indexSha256: fileSha256(join(dir, "index.jsonl")), npyBytes: npy.size, npyMtimeMs: npy.mtimeMs };
}

/** The graph's file: its parameters in the name, and for shards a key of every folder given. */
export function hnswCacheFile(folders: string[], options: HnswOptions = SEARCH_HNSW): string {
  const params = `hnsw-m${options.m}-efc${options.efConstruction}-seed${options.seed}`;
  const shards =
    folders.length > 1
      ? `-shards-${createHash("sha256")
          .update(folders.map((f) => resolve(f)).join("\n"))
          .digest("hex")
          .slice(0, 12)}`
      : "";
  return join(folders[0], SEARCH_INDEX_DIR, `${params}${shards}.bin`);
}

function readRecord(path: string): CacheRecord | undefined {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as CacheRecord;
  } catch {
    return undefined;
  }
}

/** Whether process `pid` is running (on this machine). */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Removes what a killed build left (a graph is as large as embeddings.npy); another run's build in progress is left alone. */
function removeStalePartials(file: string): void {
  const prefix = `${basename(file)}.partial-`;
  for (const name of readdirSync(dirname(file))) {
    const pid = Number(name.slice(prefix.length));
    if (name.startsWith(prefix) && Number.isInteger(pid) && !running(pid)) rmSync(join(dirname(file), name), { force: true });
  }
}

const reason = (error: unknown) => (error instanceof Error ? error.message.split("\n")[0] : String(error));

/** Whether hnswlib-node loads; where it does not, the notice says how to get it (and the caller searches exactly). */
export function hnswAvailable(events: IndexEvents = {}): boolean {
  const hnsw = loadHnsw();
  if ("error" in hnsw) events.onNotice?.(hnswUnavailableNotice(hnsw.error));
  return !("error" in hnsw);
}

/**
 * The index to search `references` (the folders' rows, in record order) with: exact, or HNSW
 * read from the folder's cache or built (and cached). HNSW asked for where hnswlib-node cannot be
 * loaded falls back to exact search, with the notice saying how to get it.
 */
export function openNeighbourIndex(
  folders: string[],
  references: RowSource,
  dim: number,
  kind: IndexKind,
  events: IndexEvents = {},
  options: HnswOptions = SEARCH_HNSW,
): OpenedIndex {
  if (chooseIndex(kind, references.count) === "exact" || !hnswAvailable(events)) return { index: new BlockedExactIndex(references, dim), kind: "exact" };
  const file = hnswCacheFile(folders, options);
  const recordFile = file.replace(/\.bin$/, ".json");
  const record: CacheRecord = {
    format: 1,
    space: "cosine",
    rows: references.count,
    dim,
    m: options.m,
    efConstruction: options.efConstruction,
    seed: options.seed,
    folders: folders.map(folderState),
  };
  const cached = readRecord(recordFile);
  if (cached && existsSync(file) && JSON.stringify(cached) === JSON.stringify(record)) {
    try {
      const index = new HnswIndex(references, dim, options, { from: file });
      events.onNotice?.(`reusing the HNSW index ${file} (${references.count} rows; built for this folder as it is now)`);
      return { index, kind: "hnsw" };
    } catch (error) {
      events.onNotice?.(`could not read the HNSW index ${file} (${reason(error)}): building it again`);
    }
  } else if (cached) {
    events.onNotice?.(`the HNSW index ${file} was built for other rows or parameters: building it again`);
  }
  // Found out before the build, so a folder that cannot take the cache is said so up front.
  let writable: true | string = true;
  try {
    mkdirSync(join(folders[0], SEARCH_INDEX_DIR), { recursive: true });
    rmSync(recordFile, { force: true });
    removeStalePartials(file);
  } catch (error) {
    writable = reason(error);
    events.onNotice?.(`cannot write ${join(folders[0], SEARCH_INDEX_DIR)} (${writable}): building the HNSW index in memory, it will be built again next run`);
  }
  events.onBuildStart?.(references.count);
  const index = new HnswIndex(references, dim, options, { onAdded: () => events.onBuildProgress?.() });
  events.onBuildEnd?.();
  if (writable !== true) return { index, kind: "hnsw" };
  try {
    // The graph first, then the record: a record names only a graph written whole.
    const partial = `${file}.partial-${process.pid}`;
    index.save(partial);
    renameSync(partial, file);
    writeFileSync(`${recordFile}.partial-${process.pid}`, `${JSON.stringify(record, null, 2)}\n`);
    renameSync(`${recordFile}.partial-${process.pid}`, recordFile);
    events.onNotice?.(`built the HNSW index of ${references.count} rows and cached it in ${file}`);
  } catch (error) {
    rmSync(`${file}.partial-${process.pid}`, { force: true });
    events.onNotice?.(
      `built the HNSW index of ${references.count} rows, but could not cache it in ${file} (${reason(error)}): it will be built again next run`,
    );
  }
  return { index, kind: "hnsw" };
}
