/**
 * `emb search`: the images of an `emb embed image` folder nearest to queries given as text, as an
 * image file or as one of the folder's rows. Queries are embedded with the model the folder
 * records in run.json (proven the same by its weights' content hash) and searched exactly: every
 * row is scored, the float32 products only shortlisting and the shortlist ranked in double
 * precision (BlockedExactIndex), ties to the lower row; or, for large folders, through an HNSW
 * graph cached beside the embeddings (see search-index.ts), its candidates ranked the same way.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { decodeAndResize, type DecodeOptions } from "../image/decode.js";
import { modelPixels } from "../image/normalize.js";
import { readImageFile } from "../image/read-image-file.js";
import { OutputMismatchError } from "../io/output-folder.js";
import type { ModelSource } from "../models/registry.js";
import type { ImageEmbedder, TextEmbedder } from "../models/types.js";
import { openEmbeddingFolders, type EmbeddingFolder } from "./embedding-cache.js";
import { type IndexEvents, type IndexKind, openNeighbourIndex } from "./search-index.js";

export type SearchQuery = { text: string } | { image: string } | { row: number };

export interface SearchHit {
  rank: number;
  row: number;
  path: string;
  /** Cosine similarity of the query and the row. */
  score: number;
}

export interface SearchResult {
  query: SearchQuery & { path?: string };
  results: SearchHit[];
}

/** The model a folder was embedded with, as run.json records it: what opening it again takes. */
export interface FolderModel {
  model: string;
  revision: string;
  dtype: string;
  /** DINOv2's pooling and NaFlex's patch budget, where the folder's fingerprint has them. */
  pooling?: "cls" | "mean";
  maxNumPatches?: number;
  decode: DecodeOptions;
}

export interface SearchJob {
  /** One folder, or the folders of one job's shards. */
  folders: string[];
  queries: SearchQuery[];
  k: number;
  /** Opens the folder's model for a role (the command wires the model flags); called only when a query needs it. */
  openText: (model: FolderModel) => Promise<TextEmbedder>;
  openImage: (model: FolderModel) => Promise<ImageEmbedder>;
  /** What the folder's model is now: its image tower's identity. */
  identify: (model: FolderModel) => Promise<ModelSource>;
  /** Exact (the default), HNSW, or by the folder's size. */
  index?: IndexKind;
  indexEvents?: IndexEvents;
}

export class SearchQueryError extends Error {}

/** The model recorded by an embedding folder's run.json; a folder without one cannot be searched by text or image. */
export function folderModel(folder: EmbeddingFolder, runJson: string): FolderModel {
  const fingerprint = folder.fingerprint;
  if (!fingerprint || typeof fingerprint.model !== "string") {
    throw new OutputMismatchError(
      `${folder.dir} has no run.json naming its model; text and image queries need the model it was embedded with (--row queries work)`,
    );
  }
  const preprocessing = fingerprint.preprocessing as { patches?: { maxPatches?: number } } | undefined;
  const recorded = existsSync(runJson) ? (JSON.parse(readFileSync(runJson, "utf8")).model as { dtype?: string } | undefined) : undefined;
  return {
    model: fingerprint.model,
    revision: typeof fingerprint.commit === "string" ? fingerprint.commit : "main",
    dtype: recorded?.dtype ?? "fp32",
    pooling: fingerprint.pooling as FolderModel["pooling"],
    maxNumPatches: preprocessing?.patches?.maxPatches,
    decode: fingerprint.colorManagement ? { colorManagement: fingerprint.colorManagement as DecodeOptions["colorManagement"] } : {},
  };
}

/** The query model must be the folder's: same repository, commit and image tower content. */
export function checkSameModel(folder: EmbeddingFolder, model: ModelSource): void {
  const recorded = folder.fingerprint ?? {};
  if (recorded.weights !== model.weights || recorded.model !== model.model || (recorded.commit ?? null) !== model.commit) {
    throw new OutputMismatchError(
      `${folder.dir} was embedded with ${String(recorded.model)} (weights ${String(recorded.weights).slice(0, 19)}), but that model now resolves to ` +
        `${model.model} (weights ${model.weights.slice(0, 19)}): its files changed since, so query vectors would not be comparable; embed the folder again`,
    );
  }
}

export interface SearchOutcome {
  folder: string;
  rows: number;
  k: number;
  /** The search that answered: exact, or approximate through the HNSW graph. */
  index: "exact" | "hnsw";
  results: SearchResult[];
}

export async function runSearch(job: SearchJob): Promise<SearchOutcome> {
  if (!Number.isInteger(job.k) || job.k < 1) throw new SearchQueryError(`-k ${job.k}: give a whole number of at least 1`);
  if (job.queries.length === 0) throw new SearchQueryError("no query: give --text, --image or --row (each repeatable)");
  const folder = await openEmbeddingFolders(job.folders, { onDemand: true });
  try {
    const rows = folder.records.length;
    const byRow = new Map(folder.records.map((r) => [r.row, r]));
    for (const q of job.queries) {
      if ("row" in q && !byRow.has(q.row))
        throw new SearchQueryError(`--row ${q.row}: ${folder.dir} has no such row (embeddings.npy has ${rows}, numbered from 0 as index.jsonl numbers them)`);
    }
    const needsModel = job.queries.some((q) => !("row" in q));
    const model = needsModel ? folderModel(folder, join(job.folders[0], "run.json")) : undefined;
    if (model) checkSameModel(folder, await job.identify(model));
    const vectors = await queryVectors(job, folder, model);
    const references = { count: rows, row: (i: number) => folder.vector(folder.records[i].row) };
    const { index, kind } = openNeighbourIndex(job.folders, references, folder.dim, job.index ?? "exact", job.indexEvents);
    const found = await index.searchAll(vectors, job.k);
    const results = job.queries.map((query, i): SearchResult => {
      const { indices, distances } = found[i];
      const hits = Array.from(indices, (at, rank) => ({
        rank: rank + 1,
        row: folder.records[at].row,
        path: folder.records[at].path,
        score: 1 - distances[rank],
      }));
      const shown = "row" in query ? { ...query, path: byRow.get(query.row)?.path } : query;
      return { query: shown, results: hits };
    });
    return { folder: folder.dir, rows, k: job.k, index: kind, results };
  } finally {
    folder.close?.();
  }
}

/** Each query's vector, in query order: text and images through the folder's model, opened once per tower. */
async function queryVectors(job: SearchJob, folder: EmbeddingFolder, model: FolderModel | undefined): Promise<Float32Array[]> {
  const texts = job.queries.flatMap((q) => ("text" in q ? [q.text] : []));
  const images = job.queries.flatMap((q) => ("image" in q ? [q.image] : []));
  const textVectors: Float32Array[] = [];
  const imageVectors: Float32Array[] = [];
  if (model && texts.length > 0) {
    const tower = await job.openText(model);
    try {
      textVectors.push(...(await tower.embedTexts(texts)));
    } finally {
      await tower.release();
    }
  }
  if (model && images.length > 0) {
    const tower = await job.openImage(model);
    try {
      for (const path of images) {
        const decoded = await decodeAndResize(await readImageFile(path), tower.preprocessing, model.decode);
        imageVectors.push(...(await tower.embed([modelPixels(decoded, tower.preprocessing)])));
      }
    } finally {
      await tower.release();
    }
  }
  let t = 0;
  let m = 0;
  return job.queries.map((q) => ("text" in q ? textVectors[t++] : "image" in q ? imageVectors[m++] : folder.vector(q.row)));
}
