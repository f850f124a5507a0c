/**
 * How transformers' image processors turn a uint8 pixel into a float: rescale() in float64,
 * rounded to float32, then normalize()'s (x - mean) / std in float32, each step rounded as numpy
 * does. One rounding fewer (src/image/normalize.ts's single expression) differs in the last bits.
 */
import { PIL_RESAMPLE, type ResampleFilter } from "../../image/resample.js";

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

type Triple = [number, number, number];

/**
 * A processor config's `resample` (its default when absent), rescale and mean/std, as the slow
 * processors read them; `refuse` throws the caller's sentence for a value they cannot take.
 */
export function readProcessorPixels(
  raw: Record<string, unknown>,
  defaults: { resample: number; mean: Triple; std: Triple },
  refuse: (why: string) => never,
): { resample: ResampleFilter; rescale: number; mean: Triple; std: Triple } {
  const three = (key: string, fallback: Triple): Triple => {
    const value = raw[key] ?? fallback;
    const list = Array.isArray(value) ? value : [value, value, value];
    if (list.length !== 3 || !list.every((v) => typeof v === "number" && Number.isFinite(v))) {
      refuse(`gives ${key} ${JSON.stringify(value)}, not a number or three numbers`);
    }
    return list as Triple;
  };
  const resampleValue = raw.resample ?? defaults.resample;
  const resample = Number.isInteger(resampleValue) ? PIL_RESAMPLE[resampleValue as number] : undefined;
  if (!resample) refuse(`asks for resample ${JSON.stringify(resampleValue)}, which is none of PIL's filters 0 to 5`);
  const rescale = raw.do_rescale === false ? 1 : (raw.rescale_factor ?? 1 / 255);
  if (typeof rescale !== "number" || !Number.isFinite(rescale)) refuse(`gives rescale_factor ${JSON.stringify(rescale)}, not a number`);
  // no normalisation is (x - 0) / 1, the same float32 values
  const normalize = raw.do_normalize !== false;
  return {
    resample: resample as ResampleFilter,
    rescale: rescale as number,
    mean: normalize ? three("image_mean", defaults.mean) : [0, 0, 0],
    std: normalize ? three("image_std", defaults.std) : [1, 1, 1],
  };
}
