/**
 * Captioning for `emb coco eval`: every annotated image through Florence-2 (the `emb florence`
 * pipeline), each caption appended to the COCO results file as it arrives; images already in
 * the file are skipped, so a killed run resumes.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { BatcherOptions } from "../batching/batcher.js";
import type { GenerationSettings } from "../generation/settings.js";
import type { ImageToText } from "../models/types.js";
import { imageToText, type ImageFailure, type ImageToTextSummary } from "./image-to-text.js";
import type { CocoAnnotations } from "../eval/coco/annotations.js";
import type { CocoResultsWriter } from "../eval/coco/results-file.js";
import type { ImageId } from "../eval/coco/types.js";
import type { DecodeOptions } from "../image/decode.js";

/** The Florence-2 tasks whose answer is a caption. */
export const CAPTION_TASKS = ["<CAPTION>", "<DETAILED_CAPTION>", "<MORE_DETAILED_CAPTION>"];

export interface CaptionOptions {
  imagesDir: string;
  task: string;
  prompt: number[];
  settings: GenerationSettings;
  workers: number;
  /** Decoding: the pixel limit and what to do with embedded colour profiles. */
  decode?: DecodeOptions;
  batcher: BatcherOptions;
  /** Caption at most this many annotated images (the first, in the annotation file's order). */
  limit?: number;
  onStart?: (toCaption: number) => void;
  onProgress?: () => void;
  signal?: AbortSignal;
}

export interface CaptionSummary {
  /** Images captioned by this run. */
  captioned: number;
  /** Images whose caption the results file already held. */
  resumed: number;
  /** Annotated images with no file under --images, or that could not be read. */
  failures: ImageFailure[];
  tokens: number;
  seconds: number;
  interrupted: boolean;
  /** The pipeline's stage timings and batch sizes, when anything was captioned. */
  pipeline?: Pick<ImageToTextSummary, "stages" | "batching">;
}

export async function captionCocoImages(
  model: ImageToText,
  annotations: CocoAnnotations,
  writer: CocoResultsWriter,
  options: CaptionOptions,
): Promise<CaptionSummary> {
  const wanted = annotations.images.slice(0, options.limit ?? annotations.images.length);
  const failures: ImageFailure[] = [];
  const idOf = new Map<string, ImageId>();
  const inputs: string[] = [];
  let resumed = 0;
  for (const image of wanted) {
    if (writer.previous.has(image.id)) {
      resumed++;
      continue;
    }
    const path = join(options.imagesDir, image.fileName);
    if (!existsSync(path)) failures.push({ path, reason: "missing", error: `image ${image.id}: no file ${image.fileName} under ${options.imagesDir}` });
    else if (idOf.has(path)) failures.push({ path, reason: "duplicate", error: `image ${image.id} names the same file as image ${idOf.get(path)}` });
    else {
      idOf.set(path, image.id);
      inputs.push(path);
    }
  }
  options.onStart?.(inputs.length);
  if (inputs.length === 0) return { captioned: 0, resumed, failures, tokens: 0, seconds: 0, interrupted: false };
  const summary = await imageToText(model, {
    inputs,
    task: options.task,
    prompt: options.prompt,
    settings: options.settings,
    workers: options.workers,
    decode: options.decode,
    batcher: options.batcher,
    onResult: (r) => {
      const caption = r.result[options.task];
      writer.append({ image_id: idOf.get(r.path)!, caption: typeof caption === "string" ? caption : "" });
    },
    onFailure: (f) => failures.push(f),
    onProgress: options.onProgress,
    signal: options.signal,
  });
  const { processed, tokens, seconds, interrupted, stages, batching } = summary;
  return { captioned: processed, resumed, failures, tokens, seconds, interrupted, pipeline: { stages, batching } };
}

/**
 * The failures as one warning line per reason (a count and the first), not one line per image:
 * a folder missing half of val2014 would print thousands. `listedIn` says where all are listed.
 */
export function summariseFailures(failures: ImageFailure[], imagesDir: string, listedIn: string): string[] {
  const byReason = new Map<string, ImageFailure[]>();
  for (const f of failures) byReason.set(f.reason, [...(byReason.get(f.reason) ?? []), f]);
  return [...byReason].map(([reason, [first, ...rest]]) => {
    const count = rest.length === 0 ? "1 image" : `${rest.length + 1} images`;
    const example = rest.length === 0 ? `: ${first.path}` : `; first: ${first.path}`;
    const what = reason === "missing" ? `not found under ${imagesDir}${example}` : `not captioned (${reason})${example}: ${first.error}`;
    return `${count} ${what} (all listed in ${listedIn})`;
  });
}
