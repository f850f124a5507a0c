/**
 * SigLIP 2 NaFlex preprocessing, as transformers' (slow) Siglip2ImageProcessor does it: resize
 * keeping the aspect ratio to the largest patch grid within maxNumPatches (PIL filter), rescale,
 * normalise, cut into patches and pad to maxNumPatches, with the attention mask and grid shape.
 */
import type { ImagePreprocessing } from "../../image/normalize.js";
import { packPatches, patchGrid, unpackPatches } from "../../image/patches.js";
import { type ResampleFilter, resizeRgb } from "../../image/resample.js";
import { ModelLayoutError } from "../common/layout.js";
import { pixelTable } from "../../image/normalize.js";
import { readPreprocessorConfig } from "../common/preprocessing.js";
import { readProcessorPixels } from "../common/processor-pixels.js";

export interface NaflexConfig {
  patchSize: number;
  maxNumPatches: number;
  /** Per-pixel factor before normalising; 1 when the processor does not rescale. */
  rescale: number;
  mean: [number, number, number];
  std: [number, number, number];
  /** The processor's default is bilinear (unlike the fixed-size processors' bicubic). */
  resample: ResampleFilter;
}

export interface NaflexPatches {
  /** (maxNumPatches, patchSize * patchSize * 3): patches row by row, each (y, x, channel); padding is 0. */
  pixelValues: Float32Array;
  /** 1 for the image's patches, then 0 for the padding. */
  attentionMask: Int32Array;
  /** [grid height, grid width] in patches. */
  spatialShape: [number, number];
}

/** Preprocesses decoded RGB (HWC uint8, after orientation) into the NaFlex model inputs. */
export function naflexPatches(rgb: Uint8Array, width: number, height: number, config: NaflexConfig): NaflexPatches {
  const p = config.patchSize;
  const target = patchGrid(width, height, p, config.maxNumPatches);
  const pixels = resizeRgb(rgb, width, height, target.width, target.height, config.resample);
  const { gridH, gridW, patches } = unpackPatches(packPatches(pixels, target.width, target.height, p, pixelTable(config)));
  const pixelValues = new Float32Array(config.maxNumPatches * p * p * 3);
  pixelValues.set(patches);
  const attentionMask = new Int32Array(config.maxNumPatches).fill(1, 0, gridH * gridW);
  return { pixelValues, attentionMask, spatialShape: [gridH, gridW] };
}

/**
 * A preprocessor_config.json object to a NaflexConfig, with the processor's defaults; refuses,
 * in one sentence, what it would do differently from naflexPatches.
 */
export function readNaflexConfig(raw: Record<string, unknown>): NaflexConfig {
  const refuse = (why: string): never => {
    throw new ModelLayoutError(`preprocessor_config.json ${why}; emb preprocesses NaFlex only as transformers' Siglip2ImageProcessor does by default`);
  };
  const type = raw.image_processor_type;
  if (type !== undefined && type !== "Siglip2ImageProcessor") {
    // the fast processor resizes with torchvision, whose pixels differ from PIL's
    refuse(`names image_processor_type ${JSON.stringify(type)}, not "Siglip2ImageProcessor"`);
  }
  if (raw.do_resize === false) refuse("turns resizing off (do_resize false), which leaves the image's size to the caller");
  const count = (key: string, fallback: number): number => {
    const value = raw[key] ?? fallback;
    if (!Number.isInteger(value) || (value as number) < 1) refuse(`gives ${key} ${JSON.stringify(value)}, not a positive integer`);
    return value as number;
  };
  const pixels = readProcessorPixels(raw, { resample: 2, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] }, refuse); // PIL BILINEAR by default
  return {
    patchSize: count("patch_size", 16),
    maxNumPatches: count("max_num_patches", 256),
    ...pixels,
  };
}

/**
 * A NaFlex folder's preprocessor_config.json as the decode stage's ImagePreprocessing (packed
 * patches); `maxPatches` overrides its max_num_patches (--max-num-patches).
 */
export function readNaflexPreprocessing(dir: string, maxPatches?: number): ImagePreprocessing {
  const config = readNaflexConfig(readPreprocessorConfig(dir).raw);
  const { patchSize, resample, rescale, mean, std } = config;
  return {
    width: 0,
    height: 0,
    resample,
    rescale,
    mean,
    std,
    rounding: "processor",
    patches: { size: patchSize, maxPatches: maxPatches ?? config.maxNumPatches },
  };
}
