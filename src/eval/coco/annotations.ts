/**
 * COCO caption files: the annotation file (captions_val2014.json: images and their reference
 * captions) and a results file ([{image_id, caption}]), read and checked so that every problem
 * is reported with the entries it concerns instead of failing deep inside a metric.
 */
import { statSync } from "node:fs";
import { join } from "node:path";
import { readInputFile } from "../../sources/text.js";
import type { ImageId } from "./types.js";

export class CocoInputError extends Error {}

export interface CocoImage {
  id: ImageId;
  fileName: string;
}

export interface CocoAnnotations {
  /** Images that have at least one caption, in the file's order. */
  images: CocoImage[];
  /** Image id -> reference captions, in the file's order. */
  references: Map<ImageId, string[]>;
  /** Listed images without any caption (not evaluated). */
  uncaptioned: ImageId[];
}

function readJsonFile(path: string, what: string): unknown {
  const text = readInputFile(path, what);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CocoInputError(`${what} ${path} is not valid JSON: ${(error as Error).message}`);
  }
}

const isId = (v: unknown): v is ImageId => (typeof v === "number" && Number.isFinite(v)) || (typeof v === "string" && v !== "");

/** The first few items of a list, and how many more. */
export function listSome(items: unknown[], shown = 5): string {
  const text = items.slice(0, shown).map((i) => (typeof i === "string" ? JSON.stringify(i) : String(i)));
  return items.length > shown ? `${text.join(", ")} and ${items.length - shown} more` : text.join(", ");
}

export function readAnnotations(path: string): CocoAnnotations {
  const data = readJsonFile(path, "annotation file") as { images?: unknown; annotations?: unknown };
  if (typeof data !== "object" || data === null || !Array.isArray(data.annotations)) {
    throw new CocoInputError(
      `annotation file ${path} has no "annotations" array; expected COCO's captions format ({"images": [...], "annotations": [{"image_id", "caption"}, ...]})`,
    );
  }
  if (!Array.isArray(data.images)) throw new CocoInputError(`annotation file ${path} has no "images" array (entries {"id", "file_name"})`);
  const images = new Map<ImageId, CocoImage>();
  const badImages: number[] = [];
  data.images.forEach((image: { id?: unknown; file_name?: unknown }, i: number) => {
    if (!image || !isId(image.id) || typeof image.file_name !== "string") badImages.push(i);
    else images.set(image.id, { id: image.id, fileName: image.file_name });
  });
  if (badImages.length > 0) throw new CocoInputError(`annotation file ${path}: images at index ${listSome(badImages)} lack a numeric "id" or a "file_name"`);

  const references = new Map<ImageId, string[]>();
  const malformed: number[] = [];
  const unknown: ImageId[] = [];
  data.annotations.forEach((a: { image_id?: unknown; caption?: unknown }, i: number) => {
    if (!a || !isId(a.image_id) || typeof a.caption !== "string") return void malformed.push(i);
    if (!images.has(a.image_id)) return void unknown.push(a.image_id);
    references.set(a.image_id, [...(references.get(a.image_id) ?? []), a.caption]);
  });
  if (malformed.length > 0)
    throw new CocoInputError(`annotation file ${path}: annotations at index ${listSome(malformed)} lack an "image_id" or a string "caption"`);
  if (unknown.length > 0) throw new CocoInputError(`annotation file ${path}: annotations name image ids not in "images": ${listSome([...new Set(unknown)])}`);
  return {
    images: [...images.values()].filter((image) => references.has(image.id)),
    references,
    uncaptioned: [...images.keys()].filter((id) => !references.has(id)),
  };
}

export interface CocoResults {
  /** Image id -> the candidate caption. */
  candidates: Map<ImageId, string>;
  /** Image ids whose caption is empty or only spaces (scored as empty, and reported). */
  empty: ImageId[];
}

/**
 * Reads results files against the annotations. Unknown ids, duplicate ids, entries that are
 * not {image_id, caption} and malformed JSON are errors naming the entries; annotated images
 * without a result are an error unless `allowMissing` (then only the images in the results are
 * scored, as pycocoevalcap does). Several sources (the shards of one captioning job) are read as
 * one file: see combineResultFiles.
 */
export function readResults(sources: string[], annotations: CocoAnnotations, allowMissing: boolean): CocoResults {
  return checkResults(combineResultFiles(sources), sources.join(", "), annotations, allowMissing);
}

/** The results file a source names: the file itself, or a folder's results.json (as emb coco eval --images writes it). */
export function resultsFileOf(source: string): string {
  return statSync(source, { throwIfNoEntry: false })?.isDirectory() ? join(source, "results.json") : source;
}

/**
 * The entries of one or more results files as one list. An image in two files with the same
 * caption is kept once; with different captions it is an error naming the image and both files.
 * One file comes back as it is (its own duplicates are reported by checkResults); several come
 * back ordered by image id.
 */
export function combineResultFiles(sources: string[]): unknown[] {
  const lists = sources.map((source) => {
    const path = resultsFileOf(source);
    const data = readJsonFile(path, "results file");
    if (!Array.isArray(data)) throw new CocoInputError(`results file ${path} is not a JSON array of {"image_id", "caption"}`);
    return { path, entries: data as unknown[] };
  });
  if (lists.length === 1) return lists[0].entries;
  const seen = new Map<string, { caption: unknown; path: string }>();
  const combined: unknown[] = [];
  const conflicts: string[] = [];
  for (const { path, entries } of lists) {
    for (const entry of entries) {
      const e = entry as { image_id?: unknown; caption?: unknown };
      const key = e && isId(e.image_id) ? JSON.stringify(e.image_id) : undefined;
      const earlier = key === undefined ? undefined : seen.get(key);
      if (earlier && earlier.caption === e.caption && earlier.path !== path) continue;
      if (earlier && earlier.path !== path) conflicts.push(`${key} (in ${earlier.path} and ${path})`);
      if (key !== undefined && !earlier) seen.set(key, { caption: e.caption, path });
      combined.push(entry);
    }
  }
  if (conflicts.length > 0)
    throw new CocoInputError(
      `image ids with different captions in different results files: ${conflicts.slice(0, 5).join(", ")}${conflicts.length > 5 ? ` and ${conflicts.length - 5} more` : ""}; each image must be captioned in one shard`,
    );
  return combined.sort((a, b) => compareIds((a as { image_id?: unknown }).image_id, (b as { image_id?: unknown }).image_id));
}

/** Numeric ids in numeric order, before string ids in string order; anything else last. */
function compareIds(a: unknown, b: unknown): number {
  const rank = (v: unknown) => (typeof v === "number" ? 0 : typeof v === "string" ? 1 : 2);
  if (rank(a) !== rank(b)) return rank(a) - rank(b);
  if (typeof a === "number" && typeof b === "number") return a - b;
  return typeof a === "string" && typeof b === "string" && a !== b ? (a < b ? -1 : 1) : 0;
}

export function checkResults(entries: unknown[], source: string, annotations: CocoAnnotations, allowMissing: boolean): CocoResults {
  const candidates = new Map<ImageId, string>();
  const malformed: number[] = [];
  const unknown: ImageId[] = [];
  const duplicates: ImageId[] = [];
  entries.forEach((entry, i) => {
    const e = entry as { image_id?: unknown; caption?: unknown };
    if (!e || !isId(e.image_id) || typeof e.caption !== "string") return void malformed.push(i);
    if (!annotations.references.has(e.image_id)) return void unknown.push(e.image_id);
    if (candidates.has(e.image_id)) return void duplicates.push(e.image_id);
    candidates.set(e.image_id, e.caption);
  });
  const problems: string[] = [];
  if (malformed.length > 0) problems.push(`entries at index ${listSome(malformed)} are not {"image_id", "caption": string}`);
  if (unknown.length > 0) problems.push(`image ids not in the annotations (or without captions there): ${listSome(unknown)}`);
  if (duplicates.length > 0) problems.push(`image ids given more than once: ${listSome([...new Set(duplicates)])}`);
  const missing = annotations.images.map((image) => image.id).filter((id) => !candidates.has(id));
  if (missing.length > 0 && !allowMissing) {
    problems.push(`${missing.length} annotated image(s) have no result: ${listSome(missing)} (pass --allow-missing to score only the images in the results)`);
  }
  if (problems.length > 0) throw new CocoInputError(`results ${source}: ${problems.join("; ")}`);
  if (candidates.size === 0) throw new CocoInputError(`results ${source}: no captions to score`);
  const empty = [...candidates].filter(([, caption]) => caption.trim() === "").map(([id]) => id);
  return { candidates, empty };
}
