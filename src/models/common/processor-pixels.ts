/** A processor config's resample, rescale and mean/std, read as transformers' slow image processors read them. */
import { PIL_RESAMPLE, type ResampleFilter } from "../../image/resample.js";

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
