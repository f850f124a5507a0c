/** Normalisation: pixels for the image models (HWC uint8 RGB to CHW float32). */
import { withKernel } from "./pixel-kernel.js";
import { packPatches, type PatchSpec } from "./patches.js";
import type { ResampleFilter } from "./resample.js";

export interface ImagePreprocessing {
  width: number;
  height: number;
  rescale: number;
  mean: [number, number, number];
  std: [number, number, number];
  /** Recorded in output fingerprints: "bicubic", the default, keeps earlier folders' fingerprints. */
  resample: ResampleFilter;
  /**
   * Resize so the shortest edge is this long, keeping the aspect ratio, then center crop to
   * width x height (CLIP, DINOv2). Absent: resize straight to width x height (SigLIP).
   */
  shortestEdge?: number;
  /**
   * "processor": each step rounded to float32 as transformers' processors do (pixelTable), which
   * CLIP and DINOv2 use. Absent: one rounding, as SigLIP folders were always made; it differs
   * from the processor's value in the last bit for half the pixel values, which the fingerprint
   * of existing folders keeps.
   */
  rounding?: "processor";
  /**
   * A patch model (SigLIP 2 NaFlex): the image keeps its aspect ratio, resized to whole patches
   * within the budget and cut into patches (patches.ts); width and height are then unused (0).
   */
  patches?: PatchSpec;
}

/** What rescaling and normalising take, per channel. */
export interface PixelScaling {
  rescale: number;
  mean: readonly number[];
  std: readonly number[];
}

/**
 * How transformers' image processors turn a uint8 pixel into a float: rescale() in float64,
 * rounded to float32, then normalize()'s (x - mean) / std in float32, each step rounded as numpy
 * does. Per channel, the 256 values a pixel can take: `table[c * 256 + v]`.
 */
export function pixelTable(scaling: PixelScaling): Float32Array {
  const f = Math.fround;
  const table = new Float32Array(3 * 256);
  for (let c = 0; c < 3; c++) {
    const mean = f(scaling.mean[c]);
    const std = f(scaling.std[c]);
    for (let v = 0; v < 256; v++) table[c * 256 + v] = f(f(f(v * scaling.rescale) - mean) / std);
  }
  return table;
}

/** One rounding: float64 (pixel * rescale - mean) / std, rounded once to float32. */
function singleRoundingTable(p: PixelScaling): Float32Array {
  const table = new Float32Array(3 * 256);
  for (let c = 0; c < 3; c++) {
    const scale = p.rescale / p.std[c];
    const shift = p.mean[c] / p.std[c];
    for (let v = 0; v < 256; v++) table[c * 256 + v] = v * scale - shift;
  }
  return table;
}

/**
 * (pixel * rescale - mean) / std per channel, laid out channel-first as the models take it. Each
 * channel has 256 possible values: they are computed here and the WebAssembly kernel looks them up.
 */
export function normalizePixels(pixels: Uint8Array, p: ImagePreprocessing): Float32Array {
  const plane = p.width * p.height;
  const table = p.rounding === "processor" ? pixelTable(p) : singleRoundingTable(p);
  return withKernel([plane * 3, table.byteLength, plane * 12], (k, heap, [srcAt, tableAt, outAt]) => {
    heap.set(pixels.subarray(0, plane * 3), srcAt);
    heap.set(new Uint8Array(table.buffer), tableAt);
    k.normalize(srcAt, plane, tableAt, outAt);
    return new Float32Array(heap.buffer.slice(outAt, outAt + plane * 12));
  });
}

/** A resized image as the model takes it: CHW floats, or packed patches for a patch model. */
export function modelPixels(resized: { pixels: Uint8Array; width: number; height: number }, p: ImagePreprocessing): Float32Array {
  if (p.patches) return packPatches(resized.pixels, resized.width, resized.height, p.patches.size, pixelTable(p));
  return normalizePixels(resized.pixels, p);
}
