/**
 * Content-addressed embedding caches: one folder per model fingerprint (model, commit, graph,
 * preprocessing), holding an embedding store keyed by the SHA-256 of the image file or of the
 * caption. An image moved, renamed or shared between datasets is embedded once; an evaluation
 * run again with another template or k reads its images from here instead of re-embedding.
 *
 * The folders are ordinary embedding stores (embeddings.npy + index.jsonl + run.json), so they
 * survive kills the same way and `numpy.load` reads them.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { BatcherOptions } from "../batching/batcher.js";
import { EmbeddingStore, type IndexRecord, type StoredRecord } from "../io/embedding-store.js";
import { isClipRetrievalImageFolder, readClipRetrievalImageFolder } from "../io/clip-retrieval-layout.js";
import { readJsonl } from "../io/jsonl.js";
import { jobFingerprint, readShardedEmbeddings } from "../io/shards.js";
import { NpyRowReader, parseNpy } from "../io/npy.js";
import type { ImageEmbedder, TextEmbedder } from "../models/types.js";
import { embedImages, type ProgressEvent } from "./embed-image.js";
import { embedTexts, textKey, type TextRecord } from "./embed-text.js";
import { ImageReadError, sha256ImageFile, type ImageReadOptions } from "../image/read-image-file.js";

/** The cache folder for one kind of embedding made by one model. */
export function cacheFolder(root: string, kind: "images" | "texts", fingerprint: Record<string, unknown>): string {
  return join(root, kind, createHash("sha256").update(JSON.stringify(fingerprint)).digest("hex").slice(0, 16));
}

/** An input's SHA-256, read as the workers read it: a regular file only, up to the size limit. */
export function sha256File(path: string | Buffer, maxFileSize?: number): Promise<string> {
  return sha256ImageFile(path, maxFileSize);
}

/** An embedding folder read whole: its records, in row order, and their vectors. */
export interface EmbeddingFolder<R extends StoredRecord = IndexRecord> {
  dir: string;
  dim: number;
  records: R[];
  vector(row: number): Float32Array;
  fingerprint?: Record<string, unknown>;
  /** Lets go of the files the vectors are read from, when they are read on demand. */
  close?(): void;
}

export function readEmbeddingFolder<R extends StoredRecord = IndexRecord>(dir: string): EmbeddingFolder<R> {
  const npyPath = join(dir, "embeddings.npy");
  if (!existsSync(npyPath)) throw new Error(`${dir} has no embeddings.npy: give a folder written by emb embed image`);
  const array = parseNpy(readFileSync(npyPath));
  if (array.dtype !== "float32" || array.shape.length !== 2) throw new Error(`${npyPath} is not a float32 matrix`);
  const [rows, dim] = array.shape;
  const data = array.data as Float32Array;
  // A folder being written may hold a row whose record is not there yet, never the reverse.
  const records = readJsonl<R>(join(dir, "index.jsonl")).filter((r) => r.row < rows);
  const runPath = join(dir, "run.json");
  const fingerprint = existsSync(runPath) ? JSON.parse(readFileSync(runPath, "utf8")).fingerprint : undefined;
  return { dir, dim, records, fingerprint, vector: (row) => data.slice(row * dim, (row + 1) * dim) };
}

/**
 * A folder whose rows are read from embeddings.npy when asked for (one pread each), as shard
 * folders are: a million rows of 1,152 float32 (4.6 GB) are never held whole, nor twice.
 */
function openEmbeddingFolder(dir: string): EmbeddingFolder {
  const npyPath = join(dir, "embeddings.npy");
  if (!existsSync(npyPath)) throw new Error(`${dir} has no embeddings.npy: give a folder written by emb embed image`);
  const reader = NpyRowReader.open(npyPath);
  try {
    const records = readJsonl<IndexRecord>(join(dir, "index.jsonl")).filter((r) => r.row < reader.rows);
    const runPath = join(dir, "run.json");
    const fingerprint = existsSync(runPath) ? JSON.parse(readFileSync(runPath, "utf8")).fingerprint : undefined;
    return { dir, dim: reader.dim, records, fingerprint, vector: (row) => reader.row(row), close: () => reader.close() };
  } catch (error) {
    reader.close();
    throw error;
  }
}

/**
 * One `emb embed image` folder, or the folders of one job's shards read as one (checked as emb
 * merge checks them: same model and settings, every shard finished, no input with two contents).
 * `onDemand`: one folder's rows too are read when asked for, not loaded whole (close() lets go).
 */
export function readEmbeddingFolders(dirs: string[], options: { onDemand?: boolean } = {}): EmbeddingFolder {
  if (dirs.length === 1) return options.onDemand ? openEmbeddingFolder(dirs[0]) : readEmbeddingFolder(dirs[0]);
  const shards = readShardedEmbeddings(dirs, false);
  return { ...shards, dir: dirs.join(", "), fingerprint: jobFingerprint(shards.folders[0].run) };
}

/**
 * As readEmbeddingFolders, and also a folder in clip-retrieval's layout alone (img_emb/ and
 * metadata/, as its inference writes them; no run.json, so no model to embed queries with).
 */
export async function openEmbeddingFolders(dirs: string[], options: { onDemand?: boolean } = {}): Promise<EmbeddingFolder> {
  const layouts = dirs.filter(isClipRetrievalImageFolder);
  if (layouts.length === 0) return readEmbeddingFolders(dirs, options);
  if (dirs.length > 1) throw new Error(`${layouts[0]} is in clip-retrieval's layout: give it alone (shards are read together from emb's own folders)`);
  const folder = await readClipRetrievalImageFolder(dirs[0]);
  const records = folder.records.map((r) => ({ sha256: "", bytes: 0, mtimeMs: 0, ...r }) as IndexRecord);
  return { dir: dirs[0], dim: folder.dim, records, vector: folder.vector };
}

/**
 * The embeddings an `emb embed image` folder holds for `files`: matched by path when size and
 * modification time agree with the record, else by content (SHA-256), so a dataset embedded
 * from another working directory or copied elsewhere still matches. Files it lacks are listed.
 */
export async function embeddingsFromFolder(folder: EmbeddingFolder, files: string[]): Promise<{ vectors: Map<string, Float32Array>; missing: string[] }> {
  const byPath = new Map(folder.records.map((r) => [resolve(r.path), r]));
  const bySha = new Map(folder.records.map((r) => [r.sha256, r]));
  const vectors = new Map<string, Float32Array>();
  const missing: string[] = [];
  for (const file of files) {
    const info = await stat(file).catch(() => undefined);
    const known = byPath.get(resolve(file));
    let record = known && info && known.bytes === info.size && known.mtimeMs === info.mtimeMs ? known : undefined;
    if (!record && info) record = bySha.get(await sha256File(file).catch(() => ""));
    if (record) vectors.set(file, folder.vector(record.row));
    else missing.push(file);
  }
  return { vectors, missing };
}

export interface FileFailure {
  reason: string;
  error: string;
}

export interface CachedImages {
  /** Input path -> its embedding (the model's raw output). */
  vectors: Map<string, Float32Array>;
  failed: Map<string, FileFailure>;
  /** Files embedded by this run, and files found in the cache. */
  embedded: number;
  reused: number;
  interrupted: boolean;
}

export interface CachedImageOptions {
  dir: string;
  fingerprint: Record<string, unknown>;
  workers: number;
  /** Decoding: the pixel limit and what to do with embedded colour profiles; and the file size limit. */
  decode?: ImageReadOptions;
  batcher: BatcherOptions;
  /** The bytes of files whose names are not UTF-8, by the path given in `files`: file system calls take these. */
  fileBytes?: ReadonlyMap<string, Buffer>;
  /** Called once the files to embed are known (after hashing), then once per embedded file. */
  onStart?: (toEmbed: number) => void;
  onProgress?: (event: ProgressEvent) => void;
  signal?: AbortSignal;
}

/** Embeddings of `files`, taken from the cache where it has them and embedded into it where not. */
export async function cachedImageEmbeddings(model: ImageEmbedder, files: string[], options: CachedImageOptions): Promise<CachedImages> {
  const store = EmbeddingStore.open<IndexRecord>(options.dir, model.dim, options.fingerprint, (r) => r.sha256);
  // The cache also remembers where it saw each content, so unchanged files need no hashing.
  const seen = new Map(store.records().map((r) => [r.path, r]));
  const failed = new Map<string, FileFailure>();
  const shaOf = new Map<string, string>();
  const toEmbed = new Map<string, string>(); // sha -> the absolute path that will be embedded
  let reused = 0;
  let embedded = 0;
  const inputBytes = new Map<string, Buffer>();
  for (const file of files) {
    const path = resolve(file);
    const bytes = options.fileBytes?.get(file);
    if (bytes) inputBytes.set(path, bytes);
    try {
      const info = await stat(bytes ?? path);
      const known = seen.get(path);
      const sha =
        known && known.bytes === info.size && known.mtimeMs === info.mtimeMs ? known.sha256 : await sha256File(bytes ?? path, options.decode?.maxFileSize);
      shaOf.set(file, sha);
      if (store.recordFor(sha)) reused++;
      else if (!toEmbed.has(sha)) toEmbed.set(sha, path);
    } catch (error) {
      const reason = error instanceof ImageReadError ? error.reason : "unreadable";
      failed.set(file, { reason, error: error instanceof Error ? error.message : String(error) });
    }
  }

  options.onStart?.(toEmbed.size);
  const failedPaths = new Map<string, FileFailure>();
  const interrupted = await fillCache(
    store,
    options.fingerprint,
    toEmbed.size === 0
      ? undefined
      : () =>
          embedImages(model, {
            inputs: [...toEmbed.values()],
            inputBytes,
            store,
            normalize: false,
            workers: options.workers,
            decode: options.decode,
            batcher: options.batcher,
            signal: options.signal,
            onProgress: (event) => {
              if (event.failure) failedPaths.set(event.path, event.failure);
              if (event.outcome === "embedded") embedded++;
              options.onProgress?.(event);
            },
          }),
  );

  const cached = vectorsByContent(options.dir);
  const vectors = new Map<string, Float32Array>();
  for (const [file, sha] of shaOf) {
    const vector = cached(sha);
    if (vector) vectors.set(file, vector);
    else {
      const failure = failedPaths.get(toEmbed.get(sha) ?? "");
      if (failure) failed.set(file, failure);
    }
  }
  return { vectors, failed, embedded, reused, interrupted };
}

export interface CachedTextOptions {
  dir: string;
  fingerprint: Record<string, unknown>;
  batcher: BatcherOptions;
  onStart?: (toEmbed: number) => void;
  onProgress?: () => void;
  signal?: AbortSignal;
}

/** Embeddings of distinct captions, from the cache or embedded into it. */
export async function cachedTextEmbeddings(
  model: TextEmbedder,
  texts: string[],
  options: CachedTextOptions,
): Promise<{ vectors: Map<string, Float32Array>; embedded: number; interrupted: boolean }> {
  const store = EmbeddingStore.open<TextRecord>(options.dir, model.info.dim, options.fingerprint, textKey);
  const sha = (text: string) => createHash("sha256").update(text).digest("hex");
  // Every entry is "line" 0: a cached caption is identified by its content alone.
  const missing = [...new Set(texts)].filter((t) => !store.recordFor(textKey({ line: 0, sha256: sha(t) })));
  options.onStart?.(missing.length);
  const interrupted = await fillCache(
    store,
    options.fingerprint,
    missing.length === 0
      ? undefined
      : () =>
          embedTexts(
            model,
            missing.map((text) => ({ line: 0, text })),
            { store, normalize: false, batcher: options.batcher, onProgress: options.onProgress, signal: options.signal },
          ),
  );
  const cached = vectorsByContent<TextRecord>(options.dir);
  const vectors = new Map<string, Float32Array>();
  for (const text of texts) {
    const vector = cached(sha(text));
    if (vector) vectors.set(text, vector);
  }
  return { vectors, embedded: missing.length, interrupted };
}

/** Runs `work` (if any) on a cache store, with run.json saying how it went, and closes the store. */
async function fillCache<R extends StoredRecord>(
  store: EmbeddingStore<R>,
  fingerprint: Record<string, unknown>,
  work?: () => Promise<{ interrupted: boolean }>,
): Promise<boolean> {
  if (!work) {
    store.close();
    store.unlock();
    return false;
  }
  const record = (status: string) => store.writeRunInfo({ command: "knn eval cache", fingerprint, status });
  record("running");
  let status = "failed";
  try {
    status = (await work()).interrupted ? "interrupted" : "complete";
  } finally {
    store.close();
    record(status);
    store.unlock();
  }
  return status === "interrupted";
}

/** A cache folder's vectors by content hash. */
function vectorsByContent<R extends StoredRecord & { sha256: string } = IndexRecord>(dir: string): (sha256: string) => Float32Array | undefined {
  const folder = readEmbeddingFolder<R>(dir);
  const rowOf = new Map(folder.records.map((r) => [r.sha256, r.row]));
  return (sha256) => {
    const row = rowOf.get(sha256);
    return row === undefined ? undefined : folder.vector(row);
  };
}
