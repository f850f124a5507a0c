/**
 * Caption datasets for retrieval evaluation, read from the annotation files people have:
 * - Karpathy's splits (dataset_coco.json, dataset_flickr30k.json): {images: [{filepath?, filename,
 *   split, sentences: [{raw}]}]}, one split chosen (test: COCO's 5k, Flickr30k's 1k);
 * - BLIP's / LAVIS's lists (coco_karpathy_test.json, flickr30k_test.json): [{image, caption: [...]}];
 * - COCO's caption annotations (captions_val2014.json, and CLIP_benchmark's coco_test_karpathy.json):
 *   {images: [{id, file_name}], annotations: [{image_id, caption}]}, images in id order as
 *   torchvision's CocoCaptions (which CLIP_benchmark reads it with) orders them;
 * - CLIP_benchmark's flickr30k_test_karpathy.txt: a header line, then "<file>.jpg,<caption>" lines,
 *   images in order of first appearance.
 * Image paths are relative to the images folder given with the file. The order of images and
 * captions only matters where scores tie (equal scores rank the earlier one first).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

export const ANNOTATION_FORMATS = ["karpathy", "blip", "coco", "flickr-txt"] as const;
export type AnnotationFormat = (typeof ANNOTATION_FORMATS)[number];

export interface CaptionDataset {
  format: AnnotationFormat;
  /** Image paths (images folder joined), each once, in the file's order. */
  images: string[];
  /** Every caption in the file's order, with the image it describes (index into `images`). */
  captions: { text: string; image: number }[];
}

export class RetrievalDatasetError extends Error {}

/** CLIP_benchmark's Flickr30k file starts with this header. */
const FLICKR_TXT_HEADER = /^image,caption\r?\n/;

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** Which of the formats a parsed file is, or undefined. */
export function annotationFormat(parsed: unknown): AnnotationFormat | undefined {
  if (Array.isArray(parsed)) return parsed.every((e) => isObject(e) && typeof e.image === "string" && Array.isArray(e.caption)) ? "blip" : undefined;
  if (!isObject(parsed) || !Array.isArray(parsed.images)) return undefined;
  if (Array.isArray(parsed.annotations)) return "coco";
  return parsed.images.every((e) => isObject(e) && typeof e.filename === "string" && Array.isArray(e.sentences)) ? "karpathy" : undefined;
}

/** Reads an annotation file; `split` picks Karpathy's split (the others have one split per file). */
export function readCaptionDataset(file: string, imagesDir: string, split = "test"): CaptionDataset {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new RetrievalDatasetError(`${file}: cannot read it (${error instanceof Error ? error.message : String(error)})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const format = parsed === undefined ? (FLICKR_TXT_HEADER.test(text) ? "flickr-txt" : undefined) : annotationFormat(parsed);
  if (!format) {
    throw new RetrievalDatasetError(
      `${file}: not an annotation file emb knows: give Karpathy's dataset_coco.json / dataset_flickr30k.json, ` +
        "BLIP's [{image, caption: [...]}] list, COCO's captions_*.json, or CLIP_benchmark's flickr30k_test_karpathy.txt",
    );
  }
  const dataset: CaptionDataset = { format, images: [], captions: [] };
  const add = (path: string, captions: unknown[], where: string) => {
    const image = dataset.images.push(join(imagesDir, path)) - 1;
    for (const text of captions) {
      if (typeof text !== "string") throw new RetrievalDatasetError(`${file}: ${where} has a caption that is not text (${JSON.stringify(text)})`);
      dataset.captions.push({ text, image });
    }
  };
  if (format === "karpathy") {
    const entries = (parsed as { images: Json[] }).images;
    const splits = new Set(entries.map((e) => String(e.split)));
    const chosen = entries.filter((e) => e.split === split);
    if (chosen.length === 0)
      throw new RetrievalDatasetError(`${file}: no image in split "${split}"; its splits are ${[...splits].sort().join(", ")} (--split)`);
    for (const e of chosen) {
      const sentences = e.sentences as unknown[];
      const where = String(e.filename);
      add(
        typeof e.filepath === "string" ? join(e.filepath, where) : where,
        sentences.map((s) => (isObject(s) ? s.raw : s)),
        where,
      );
    }
  } else if (format === "blip") {
    for (const e of parsed as { image: string; caption: unknown[] }[]) add(e.image, e.caption, e.image);
  } else if (format === "flickr-txt") {
    const byImage = new Map<string, string[]>();
    text
      .split(/\r?\n/)
      .slice(1)
      .filter((line) => line.length > 0)
      .forEach((line, at) => {
        const cut = line.indexOf(".jpg,");
        if (cut < 0) throw new RetrievalDatasetError(`${file}:${at + 2}: expected "<file>.jpg,<caption>", found ${JSON.stringify(line.slice(0, 80))}`);
        const name = line.slice(0, cut + 4);
        byImage.set(name, [...(byImage.get(name) ?? []), line.slice(cut + 5)]);
      });
    for (const [name, captions] of byImage) add(name, captions, name);
  } else {
    const { annotations } = parsed as { images: Json[]; annotations: Json[] };
    const images = [...(parsed as { images: Json[] }).images].sort((a, b) => Number(a.id) - Number(b.id));
    const byId = new Map<unknown, unknown[]>(images.map((i) => [i.id, []]));
    for (const a of annotations) {
      const list = byId.get(a.image_id);
      if (!list) throw new RetrievalDatasetError(`${file}: annotation ${String(a.id)} names image_id ${String(a.image_id)}, which images does not list`);
      list.push(a.caption);
    }
    for (const i of images) add(String(i.file_name), byId.get(i.id)!, String(i.file_name));
  }
  const captioned = new Set(dataset.captions.map((c) => c.image));
  const bare = dataset.images.filter((_, i) => !captioned.has(i));
  if (bare.length > 0)
    throw new RetrievalDatasetError(`${file}: ${bare.length} image(s) have no caption, e.g. ${bare[0]}: every image needs one to be a query`);
  return dataset;
}
