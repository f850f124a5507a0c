/**
 * Patch-grid preprocessing, as transformers' Siglip2ImageProcessor (SigLIP 2 NaFlex) does it:
 * the image keeps its aspect ratio, resized to the largest grid of whole patches within the
 * model's patch budget, then cut into patches. A prepared image travels as one Float32Array,
 * [grid height, grid width, patch 0, patch 1, ...], each patch (y, x, channel) as the processor
 * lays it out; the model pads a batch to its longest image and says which patches are real.
 */

/** How many pixels a patch side has, and the most patches an image may become. */
export interface PatchSpec {
  size: number;
  maxPatches: number;
}

/**
 * get_image_size_for_max_num_patches: a binary search on the scale in float64, each side
 * rounded up to whole patches; returns the target size in pixels. Same float steps as Python.
 */
export function patchGrid(width: number, height: number, patchSize: number, maxPatches: number): { width: number; height: number } {
  const eps = 1e-5;
  const scaled = (scale: number, size: number): number => Math.max(patchSize, Math.ceil((size * scale) / patchSize) * patchSize);
  let scaleMin = eps / 10;
  let scaleMax = 100.0;
  while (scaleMax - scaleMin >= eps) {
    const scale = (scaleMin + scaleMax) / 2;
    const patches = (scaled(scale, height) / patchSize) * (scaled(scale, width) / patchSize);
    if (patches <= maxPatches) scaleMin = scale;
    else scaleMax = scale;
  }
  return { width: scaled(scaleMin, width), height: scaled(scaleMin, height) };
}

/**
 * Cuts resized RGB (HWC uint8, whole patches on each side) into normalised patches, packed
 * after the grid's height and width. `table` maps each channel's byte to its float (pixelTable).
 */
export function packPatches(rgb: Uint8Array, width: number, height: number, patchSize: number, table: Float32Array): Float32Array {
  const p = patchSize;
  const gridH = height / p;
  const gridW = width / p;
  const patchLength = p * p * 3;
  const packed = new Float32Array(2 + gridH * gridW * patchLength);
  packed[0] = gridH;
  packed[1] = gridW;
  let out = 2;
  for (let gy = 0; gy < gridH; gy++) {
    for (let gx = 0; gx < gridW; gx++) {
      for (let y = 0; y < p; y++) {
        let at = ((gy * p + y) * width + gx * p) * 3;
        for (let i = 0; i < p * 3; i++, at++) packed[out++] = table[(at % 3) * 256 + rgb[at]];
      }
    }
  }
  return packed;
}

/** A packed image's grid and its patches (a view, not a copy). */
export function unpackPatches(packed: Float32Array): { gridH: number; gridW: number; patches: Float32Array } {
  return { gridH: packed[0], gridW: packed[1], patches: packed.subarray(2) };
}
