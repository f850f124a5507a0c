/**
 * SigLIP 2 NaFlex preprocessing, as transformers' (slow) Siglip2ImageProcessor does it: resize
 * keeping the aspect ratio to the largest patch grid within maxNumPatches (PIL filter), rescale,
 * normalise, cut into patches and pad to maxNumPatches, with the attention mask and grid shape.
 */
import { type ResampleFilter, resizeRgb } from "../../image/resample.js";
import { ModelLayoutError } from "../common/layout.js";
import { pixelTable } from "../../image/normalize.js";
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

/**
 * get_image_size_for_max_num_patches: a binary search on the scale in float64, each side
 * rounded up to whole patches; returns the target size in pixels. Same float steps as Python.
 */
export function naflexGrid(width: number, height: number, patchSize: number, maxNumPatches: number): { width: number; height: number } {
  const eps = 1e-5;
  const scaled = (scale: number, size: number): number => Math.max(patchSize, Math.ceil((size * scale) / patchSize) * patchSize);
  let scaleMin = eps / 10;
  let scaleMax = 100.0;
  while (scaleMax - scaleMin >= eps) {
    const scale = (scaleMin + scaleMax) / 2;
    const patches = (scaled(scale, height) / patchSize) * (scaled(scale, width) / patchSize);
    if (patches <= maxNumPatches) scaleMin = scale;
    else scaleMax = scale;
  }
  return { width: scaled(scaleMin, width), height: scaled(scaleMin, height) };
}

/** Preprocesses decoded RGB (HWC uint8, after orientation) into the NaFlex model inputs. */
export function naflexPatches(rgb: Uint8Array, width: number, height: number, config: NaflexConfig): NaflexPatches {
  const p = config.patchSize;
  const target = naflexGrid(width, height, p, config.maxNumPatches);
  const pixels = resizeRgb(rgb, width, height, target.width, target.height, config.resample);
  const gridH = target.height / p;
  const gridW = target.width / p;
  const patchLength = p * p * 3;
  const table = pixelTable(config);
  const pixelValues = new Float32Array(config.maxNumPatches * patchLength);
  const attentionMask = new Int32Array(config.maxNumPatches);
  for (let gy = 0; gy < gridH; gy++) {
    for (let gx = 0; gx < gridW; gx++) {
      const patch = gy * gridW + gx;
      attentionMask[patch] = 1;
      let out = patch * patchLength;
      for (let y = 0; y < p; y++) {
        let at = ((gy * p + y) * target.width + gx * p) * 3;
        for (let i = 0; i < p * 3; i++, at++) pixelValues[out++] = table[(at % 3) * 256 + pixels[at]];
      }
    }
  }
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
