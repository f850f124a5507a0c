/** Normalisation: pixels for the image models (HWC uint8 RGB to CHW float32). */
import { withKernel } from "./pixel-kernel.js";
import type { ResampleFilter } from "./resample.js";

export interface ImagePreprocessing {
  width: number;
  height: number;
  rescale: number;
  mean: [number, number, number];
  std: [number, number, number];
  /** Recorded in output fingerprints: "bicubic", the default, keeps earlier folders' fingerprints. */
  resample: ResampleFilter;
}

/**
 * (pixel * rescale - mean) / std per channel, laid out channel-first as the models take it. Each
 * channel has 256 possible values: they are computed here (float64, rounded once to float32)
 * and the WebAssembly kernel looks them up.
 */
export function normalizePixels(pixels: Uint8Array, p: ImagePreprocessing): Float32Array {
  const plane = p.width * p.height;
  const table = new Float32Array(3 * 256);
  for (let c = 0; c < 3; c++) {
    const scale = p.rescale / p.std[c];
    const shift = p.mean[c] / p.std[c];
    for (let v = 0; v < 256; v++) table[c * 256 + v] = v * scale - shift;
  }
  return withKernel([plane * 3, table.byteLength, plane * 12], (k, heap, [srcAt, tableAt, outAt]) => {
    heap.set(pixels.subarray(0, plane * 3), srcAt);
    heap.set(new Uint8Array(table.buffer), tableAt);
    k.normalize(srcAt, plane, tableAt, outAt);
    return new Float32Array(heap.buffer.slice(outAt, outAt + plane * 12));
  });
}
