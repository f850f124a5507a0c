/**
 * `emb serve --index`: an `emb embed image` folder held in memory and searched over HTTP, as
 * `emb search` searches it: text and uploaded images embedded with the folder's own model (its
 * files proven unchanged), rows by number, exact cosine search. Requests run one at a time: a
 * search is milliseconds against the model's forward pass, and one at a time keeps memory flat.
 */
import { decodeAndResize, type DecodeOptions } from "../image/decode.js";
import { modelPixels } from "../image/normalize.js";
import type { NeighbourIndex } from "../eval/knn/search.js";
import type { ModelSource } from "../models/registry.js";
import type { ImageEmbedder, TextEmbedder } from "../models/types.js";
import { openEmbeddingFolders, type EmbeddingFolder } from "../jobs/embedding-cache.js";
import { checkSameModel, folderModel, type FolderModel, type SearchHit } from "../jobs/search.js";
import { type IndexEvents, type IndexKind, openNeighbourIndex } from "../jobs/search-index.js";
import { thumbnail } from "../pages/html.js";
import { ProtocolError } from "./protocol.js";

/** Most results one request may ask for. */
export const MAX_K = 1000;

export interface IndexHooks {
  /** Opens the folder's model for a role; undefined where the model has no such tower (DINOv2's text). */
  openImage(model: FolderModel): Promise<ImageEmbedder>;
  openText(model: FolderModel): Promise<TextEmbedder | undefined>;
  identify(model: FolderModel): Promise<ModelSource>;
}

export type IndexQuery = { text: string } | { image: Buffer } | { row: number };

export class FolderSearch {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly byRow: Map<number, { row: number; path: string }>;

  private constructor(
    private readonly folder: EmbeddingFolder,
    private readonly index: NeighbourIndex,
    private readonly model: FolderModel | undefined,
    private readonly image: ImageEmbedder | undefined,
    private readonly text: TextEmbedder | undefined,
    private readonly decode: DecodeOptions,
  ) {
    this.byRow = new Map(folder.records.map((r) => [r.row, r]));
  }

  /**
   * Reads the folder (or one job's shard folders), opens its model, and indexes its rows as
   * `emb search --index` does (exact by default, as emb search); a folder without run.json
   * answers row queries only.
   */
  static async open(folders: string[], hooks: IndexHooks, decode: DecodeOptions, kind: IndexKind = "exact", events?: IndexEvents): Promise<FolderSearch> {
    const folder = await openEmbeddingFolders(folders, { onDemand: true });
    const model = folder.fingerprint && typeof folder.fingerprint.model === "string" ? folderModel(folder, `${folders[0]}/run.json`) : undefined;
    let image: ImageEmbedder | undefined;
    let text: TextEmbedder | undefined;
    if (model) {
      checkSameModel(folder, await hooks.identify(model));
      image = await hooks.openImage(model);
      text = await hooks.openText(model);
    }
    const references = { count: folder.records.length, row: (i: number) => folder.vector(folder.records[i].row) };
    const { index } = openNeighbourIndex(folders, references, folder.dim, kind, events);
    return new FolderSearch(folder, index, model, image, text, { ...model?.decode, ...decode });
  }

  /** What the page shows about the index, and which queries it takes. */
  info(): { folder: string; rows: number; dim: number; model: string | null; queries: string[] } {
    const queries = [...(this.text ? ["text"] : []), ...(this.image ? ["image"] : []), "row"];
    return { folder: this.folder.dir, rows: this.folder.records.length, dim: this.folder.dim, model: this.model?.model ?? null, queries };
  }

  /** The k rows nearest a query; a query the index cannot take is a 400 naming what it takes. */
  search(query: IndexQuery, k: number): Promise<{ results: SearchHit[] }> {
    const run = this.queue.then(() => this.searchNow(query, k));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async searchNow(query: IndexQuery, k: number): Promise<{ results: SearchHit[] }> {
    const vector = await this.vectorOf(query);
    const [found] = await this.index.searchAll([vector], k);
    return {
      results: Array.from(found.indices, (at, rank) => ({
        rank: rank + 1,
        row: this.folder.records[at].row,
        path: this.folder.records[at].path,
        score: 1 - found.distances[rank],
      })),
    };
  }

  private async vectorOf(query: IndexQuery): Promise<Float32Array> {
    const takes = this.info().queries.join(", ");
    if ("row" in query) {
      const record = this.rowRecord(query.row);
      return this.folder.vector(record.row);
    }
    if ("text" in query) {
      if (!this.text)
        throw new ProtocolError(
          `this index cannot take text queries (${this.model ? "its model has no text tower" : "its folder has no run.json naming its model"}); it takes ${takes}`,
        );
      const [vector] = await this.text.embedTexts([query.text]);
      return vector;
    }
    if (!this.image) throw new ProtocolError(`this index cannot take image queries (its folder has no run.json naming its model); it takes ${takes}`);
    let decoded;
    try {
      decoded = await decodeAndResize(query.image, this.image.preprocessing, this.decode);
    } catch (error) {
      throw new ProtocolError(`the uploaded image cannot be decoded: ${error instanceof Error ? error.message : String(error)}`);
    }
    const [vector] = await this.image.embed([modelPixels(decoded, this.image.preprocessing)]);
    return vector;
  }

  private rowRecord(row: number) {
    const record = this.byRow.get(row);
    if (!record) throw new ProtocolError(`row ${row}: the index has rows 0 to ${this.folder.records.length - 1}`, 404);
    return record;
  }

  /** A JPEG thumbnail of a row's file, read from where the folder recorded it. */
  async thumbnail(row: number): Promise<Buffer> {
    const made = await thumbnail(this.rowRecord(row).path);
    if ("error" in made) throw new ProtocolError(`row ${row}'s file cannot be shown: ${made.error}`, 404);
    return Buffer.from(made.src.slice(made.src.indexOf(",") + 1), "base64");
  }

  async release(): Promise<void> {
    await this.image?.release();
    await this.text?.release();
    this.folder.close?.();
  }
}

/** A search request's JSON body: {"text": ...} | {"image": base64} | {"row": n}, with "k" (default 10). */
export function parseSearchRequest(body: Buffer): { query: IndexQuery; k: number } {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(body.toString("utf8"));
  } catch {
    throw new ProtocolError('the body is not JSON: send {"text": "..."}, {"image": "<base64>"} or {"row": N}, with "k" for the number of results');
  }
  if (typeof json !== "object" || json === null) throw new ProtocolError("the body must be a JSON object");
  const k = json.k === undefined ? 10 : json.k;
  if (!Number.isInteger(k) || (k as number) < 1 || (k as number) > MAX_K)
    throw new ProtocolError(`"k" must be a whole number from 1 to ${MAX_K}, not ${JSON.stringify(json.k)}`);
  const given = ["text", "image", "row"].filter((key) => json[key] !== undefined);
  if (given.length !== 1)
    throw new ProtocolError(`give exactly one of "text", "image" (base64) or "row"${given.length > 1 ? `, not ${given.join(" and ")}` : ""}`);
  if (typeof json.text === "string") return { query: { text: json.text }, k: k as number };
  if (typeof json.image === "string") {
    const data = json.image.replace(/^data:[^,]*;base64,/, "");
    return { query: { image: Buffer.from(data, "base64") }, k: k as number };
  }
  if (typeof json.row === "number") return { query: { row: json.row }, k: k as number };
  throw new ProtocolError(`"${given[0]}" has the wrong type: "text" is a string, "image" a base64 string, "row" a number`);
}
