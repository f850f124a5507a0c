/**
 * Builds `emb perf`'s targets: loads the model once and turns the input options into a target
 * factory, so the sweep can rebuild the batcher and worker pool per configuration.
 */
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import type { GenerationSettings } from "../generation/settings.js";
import { parseIdRows, readCaptionFile, readInputFile } from "../sources/text.js";
import type { ImageEmbedder, ImageToText, TextEmbedder } from "../models/types.js";
import { l2normalize } from "../runtime/vectors.js";
import { DEFAULT_EXTENSIONS, SourceError, walkImages } from "../sources/image-files.js";
import { imageTarget, textTarget, type PerfTarget, type TargetSettings } from "./targets.js";

export type TargetFactory = (settings: TargetSettings) => PerfTarget;

/** Image files to send: a folder's (up to `limit`), or `count` generated photos of `width` x `height`. */
export async function imageInputs(
  input: string | undefined,
  size: { width: number; height: number },
  limit: number,
): Promise<{ paths: string[]; cleanup: () => void }> {
  if (input) {
    const paths: string[] = [];
    for await (const file of walkImages([input])) {
      if (file.error) continue;
      paths.push(file.path);
      if (paths.length >= limit) break;
    }
    if (paths.length === 0) {
      throw new SourceError(
        `--input ${input} has no images with the extensions ${DEFAULT_EXTENSIONS.join(", ")}; give a folder (or file) of images, or leave --input out to send generated ones`,
      );
    }
    return { paths, cleanup: () => {} };
  }
  // Distinct noise images: JPEG decoding costs what a photo's would; reused round-robin.
  const dir = mkdtempSync(join(tmpdir(), "emb-perf-"));
  const paths: string[] = [];
  const count = Math.min(limit, 32);
  for (let i = 0; i < count; i++) {
    const pixels = Buffer.alloc(size.width * size.height * 3);
    for (let p = 0; p < pixels.length; p++) pixels[p] = (p * 2654435761 + i * 40503) >>> 24;
    const path = join(dir, `image_${i}.jpg`);
    await sharp(pixels, { raw: { width: size.width, height: size.height, channels: 3 } })
      .jpeg({ quality: 90 })
      .toFile(path);
    paths.push(path);
  }
  return { paths, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function imageEmbedderFactory(name: string, model: ImageEmbedder, paths: string[]): TargetFactory {
  return (settings) =>
    imageTarget(
      name,
      paths,
      model.preprocessing,
      (images) => model.embed(images),
      (v) => l2normalize(v),
      settings,
    );
}

/**
 * Caption inputs: a .txt/.jsonl caption file, a perf_analyzer input-data JSON of token ids
 * (the Triton deployment's siglip_text input_ids.json shape), or `count` random rows of token ids.
 */
export function textEmbedderFactory(name: string, model: TextEmbedder, input: string | undefined, field: string): TargetFactory {
  const { length, vocabSize } = model.info;
  const { padId } = model.tokenizer;
  const eosId = model.tokenizer.eosId ?? padId;
  let rows: (() => number[])[];
  if (input && existsSync(input) && statSync(input).isFile() && /\.(json)$/.test(input)) {
    const ids = parseIdRows(readInputFile(input, "--input"), input, length, vocabSize);
    rows = ids.map((row) => () => row);
  } else if (input) {
    const captions = readCaptionFile(input, field).map((c) => c.text);
    rows = captions.map((text) => () => model.tokenizer.encode(text).ids);
  } else {
    // Random ids up to a random length, then the end token and padding, as real captions look.
    rows = Array.from({ length: 256 }, (_, r) => {
      const words = 3 + ((r * 7919) % 20);
      const ids = Array.from({ length }, (_, i) => (i < words ? 3 + ((r * 104729 + i * 7907) % (vocabSize - 3)) : i === words ? eosId : padId));
      return () => ids;
    });
  }
  return (settings) =>
    textTarget(
      name,
      rows.length,
      (i) => rows[i](),
      (batch) => model.embedIds(batch),
      (v) => l2normalize(v),
      settings,
    );
}

export function imageToTextFactory(
  name: string,
  model: ImageToText,
  task: string,
  prompt: number[],
  generation: GenerationSettings,
  paths: string[],
): TargetFactory {
  // Post-processing de-quantises coordinates with each image's own (EXIF-oriented) size, from its decode.
  return (settings) =>
    imageTarget(
      name,
      paths,
      model.preprocessing,
      (images) =>
        model.generate(
          images,
          images.map(() => prompt),
          generation,
        ),
      (ids, meta) => {
        model.parse(task, model.decode(ids), { width: meta.width, height: meta.height });
      },
      settings,
    );
}
