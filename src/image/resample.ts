/**
 * Bicubic resampling with Pillow's exact arithmetic (Resample.c): separable, horizontal pass
 * then vertical, Keys cubic with a = -0.5, support widened by the scale when shrinking
 * (antialiasing), coefficients in 22-bit fixed point, an 8-bit intermediate.
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

const PRECISION_BITS = 32 - 8 - 2;
const ONE = 2 ** PRECISION_BITS;
const SUPPORT = 2;

function cubic(x: number): number {
  const a = -0.5;
  const t = Math.abs(x);
  if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
  if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
  return 0;
}

interface Coefficients {
  /** Per output pixel: first source index and tap count. */
  bounds: Int32Array;
  /** Fixed-point weights, `taps` per output pixel. */
  weights: Int32Array;
  taps: number;
}

function computeCoefficients(inSize: number, outSize: number): Coefficients {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = SUPPORT * filterScale;
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
      k[x] = cubic((x + xmin - center + 0.5) / filterScale);
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

/** Weights by (input size, output size): a folder of same-sized photos computes them once. */
const coefficientCache = new Map<string, Coefficients>();
const COEFFICIENT_CACHE_SIZE = 32;

function coefficients(inSize: number, outSize: number): Coefficients {
  const key = `${inSize}>${outSize}`;
  let c = coefficientCache.get(key);
  if (!c) {
    if (coefficientCache.size >= COEFFICIENT_CACHE_SIZE) coefficientCache.clear();
    c = computeCoefficients(inSize, outSize);
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
  const needH = outWidth !== width;
  const needV = outHeight !== height;
  if (!needH && !needV) return src.slice();
  const ch = needH ? coefficients(width, outWidth) : undefined;
  const cv = needV ? coefficients(height, outHeight) : undefined;
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
