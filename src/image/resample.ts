/**
 * Resizing with Pillow's exact arithmetic (Resample.c): separable, horizontal pass then
 * vertical, a filter's support widened by the scale when shrinking (antialiasing), coefficients
 * in 22-bit fixed point, an 8-bit intermediate. Every filter of PIL's Image.resize: the
 * convolutions (BOX, BILINEAR, HAMMING, BICUBIC, LANCZOS) here and in WebAssembly, NEAREST by
 * its own index arithmetic (Geometry.c, ImagingScaleAffine).
 *
 * HF image processors resize through PIL, so this reproduces their pixels exactly. sharp's own
 * cubic resize differs from PIL's by up to 150 levels at edges when enlarging (measured on the
 * test images), which is why decoding is sharp's and resizing is this.
 *
 * The weights are computed here, in float64 as Pillow does; the two passes run in WebAssembly
 * with integer SIMD (src/image/wasm/pixels.ts, run by pixel-kernel.ts), the same int32
 * sums Pillow's C makes, so the pixels are the same and the speed is C's.
 */
import { withKernel } from "./pixel-kernel.js";

/** PIL's resampling filters, by the names HF's image processors give them. */
export type ResampleFilter = "nearest" | "box" | "bilinear" | "hamming" | "bicubic" | "lanczos";

/** PIL's Image.Resampling values, as preprocessor_config.json's `resample` gives them. */
export const PIL_RESAMPLE: readonly ResampleFilter[] = ["nearest", "lanczos", "bilinear", "bicubic", "box", "hamming"];
export const RESAMPLE_FILTERS: readonly ResampleFilter[] = ["nearest", "box", "bilinear", "hamming", "bicubic", "lanczos"];

const PRECISION_BITS = 32 - 8 - 2;
const ONE = 2 ** PRECISION_BITS;

/** Resample.c's filters: the same float64 expressions, so the same weights. */
interface Filter {
  weight(x: number): number;
  support: number;
}

function cubic(x: number): number {
  const a = -0.5;
  const t = Math.abs(x);
  if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
  if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
  return 0;
}

function sinc(x: number): number {
  if (x === 0) return 1;
  const px = x * Math.PI;
  return Math.sin(px) / px;
}

// Pillow writes 0.54f and 0.46f: float32 constants in a float64 expression.
const HAMMING_A = Math.fround(0.54);
const HAMMING_B = Math.fround(0.46);

const FILTERS: Record<Exclude<ResampleFilter, "nearest">, Filter> = {
  box: { weight: (x) => (x > -0.5 && x <= 0.5 ? 1 : 0), support: 0.5 },
  bilinear: {
    weight: (x) => {
      const t = Math.abs(x);
      return t < 1 ? 1 - t : 0;
    },
    support: 1,
  },
  hamming: {
    weight: (x) => {
      const t = Math.abs(x);
      if (t === 0) return 1;
      if (t >= 1) return 0;
      const px = t * Math.PI;
      return (Math.sin(px) / px) * (HAMMING_A + HAMMING_B * Math.cos(px));
    },
    support: 1,
  },
  bicubic: { weight: cubic, support: 2 },
  lanczos: { weight: (x) => (x >= -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0), support: 3 },
};

interface Coefficients {
  /** Per output pixel: first source index and tap count. */
  bounds: Int32Array;
  /** Fixed-point weights, `taps` per output pixel. */
  weights: Int32Array;
  taps: number;
}

function computeCoefficients(inSize: number, outSize: number, filter: Filter): Coefficients {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filter.support * filterScale;
  // Pillow multiplies by the reciprocal; for bicubic this gives the same weights as dividing
  // (checked on every size pair up to 500 and down to 224..768 from up to 4000)
  const ss = 1 / filterScale;
  const taps = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const weights = new Int32Array(outSize * taps);
  const k = new Float64Array(taps);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const count = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let total = 0;
    for (let x = 0; x < count; x++) {
      k[x] = filter.weight((x + xmin - center + 0.5) * ss);
      total += k[x];
    }
    for (let x = 0; x < count; x++) {
      const w = total !== 0 ? k[x] / total : k[x];
      weights[xx * taps + x] = Math.trunc(w < 0 ? -0.5 + w * ONE : 0.5 + w * ONE);
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = count;
  }
  return { bounds, weights, taps };
}

/** Weights by (filter, input size, output size): a folder of same-sized photos computes them once. */
const coefficientCache = new Map<string, Coefficients>();
const COEFFICIENT_CACHE_SIZE = 32;

function coefficients(inSize: number, outSize: number, filter: Exclude<ResampleFilter, "nearest">): Coefficients {
  const key = `${filter}:${inSize}>${outSize}`;
  let c = coefficientCache.get(key);
  if (!c) {
    if (coefficientCache.size >= COEFFICIENT_CACHE_SIZE) coefficientCache.clear();
    c = computeCoefficients(inSize, outSize, FILTERS[filter]);
    coefficientCache.set(key, c);
  }
  return c;
}

/** Sizes of the two regions a pass's weights take in the kernel's memory (none without the pass). */
const coefficientBytes = (c: Coefficients | undefined) => [c?.bounds.byteLength ?? 0, c?.weights.byteLength ?? 0];

function place(heap: Uint8Array, c: Coefficients, boundsAt: number, weightsAt: number): void {
  heap.set(new Uint8Array(c.bounds.buffer, c.bounds.byteOffset, c.bounds.byteLength), boundsAt);
  heap.set(new Uint8Array(c.weights.buffer, c.weights.byteOffset, c.weights.byteLength), weightsAt);
}

/** Resizes packed RGB (HWC, uint8) to `outWidth` x `outHeight` exactly as PIL's BICUBIC does. */
export function resizeBicubicRgb(src: Uint8Array, width: number, height: number, outWidth: number, outHeight: number): Uint8Array {
  return resizeRgb(src, width, height, outWidth, outHeight, "bicubic");
}

/** Resizes packed RGB (HWC, uint8) exactly as PIL's Image.resize with `filter` does. */
export function resizeRgb(src: Uint8Array, width: number, height: number, outWidth: number, outHeight: number, filter: ResampleFilter = "bicubic"): Uint8Array {
  const needH = outWidth !== width;
  const needV = outHeight !== height;
  if (!needH && !needV) return src.slice();
  if (filter === "nearest") return resizeNearestRgb(src, width, height, outWidth, outHeight);
  const ch = needH ? coefficients(width, outWidth, filter) : undefined;
  const cv = needV ? coefficients(height, outHeight, filter) : undefined;
  // Only the source rows the vertical pass reads go through the horizontal pass, as in PIL.
  const firstRow = cv ? cv.bounds[0] : 0;
  const lastRow = cv ? cv.bounds[(outHeight - 1) * 2] + cv.bounds[(outHeight - 1) * 2 + 1] : height;
  const rows = lastRow - firstRow;

  const midBytes = ch && cv ? rows * outWidth * 3 : 0;
  const outBytes = outWidth * outHeight * 3;
  const regions = [rows * width * 3, midBytes, outBytes, ...coefficientBytes(ch), ...coefficientBytes(cv)];
  return withKernel(regions, (k, heap, [srcAt, midAt, outAt, hBounds, hWeights, vBounds, vWeights]) => {
    heap.set(src.subarray(firstRow * width * 3, lastRow * width * 3), srcAt);
    if (ch) {
      place(heap, ch, hBounds, hWeights);
      k.horizontal(srcAt, width, rows, outWidth, hBounds, hWeights, ch.taps, cv ? midAt : outAt);
    }
    if (cv) {
      place(heap, cv, vBounds, vWeights);
      k.vertical(ch ? midAt : srcAt, outWidth * 3, outHeight, firstRow, vBounds, vWeights, cv.taps, outAt);
    }
    return heap.slice(outAt, outAt + outBytes);
  });
}

/**
 * PIL's NEAREST (ImagingScaleAffine): the source position of each output pixel centre, stepped
 * by adding the scale in float64 as Pillow does, truncated. Not a convolution, so no kernel.
 */
function resizeNearestRgb(src: Uint8Array, width: number, height: number, outWidth: number, outHeight: number): Uint8Array {
  const columns = nearestIndices(width, outWidth);
  const out = new Uint8Array(outWidth * outHeight * 3);
  const rows = nearestIndices(height, outHeight);
  for (let y = 0, o = 0; y < outHeight; y++) {
    const row = rows[y] * width * 3;
    for (let x = 0; x < outWidth; x++, o += 3) {
      const i = row + columns[x] * 3;
      out[o] = src[i];
      out[o + 1] = src[i + 1];
      out[o + 2] = src[i + 2];
    }
  }
  return out;
}

function nearestIndices(inSize: number, outSize: number): Int32Array {
  const step = inSize / outSize;
  const indices = new Int32Array(outSize);
  let at = step * 0.5;
  for (let i = 0; i < outSize; i++) {
    // `at` ends near inSize - step / 2, inside the source: the clamp only guards the read
    indices[i] = Math.min(Math.trunc(at), inSize - 1);
    at += step;
  }
  return indices;
}
