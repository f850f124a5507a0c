/**
 * How transformers' image processors turn a uint8 pixel into a float: rescale() in float64,
 * rounded to float32, then normalize()'s (x - mean) / std in float32, each step rounded as numpy
 * does. One rounding fewer (src/image/normalize.ts's single expression) differs in the last bits.
 */

/** What rescaling and normalising take, per channel. */
export interface PixelScaling {
  rescale: number;
  mean: readonly number[];
  std: readonly number[];
}

/** Per channel, the 256 values a pixel can take: `table[c * 256 + v]`. */
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
