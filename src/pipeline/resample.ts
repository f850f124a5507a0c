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
 * with integer SIMD (src/pipeline/wasm/resample.ts, compiled to resample.wasm), the same int32
 * sums Pillow's C makes, so the pixels are the same and the speed is C's.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "../package-root.js";

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

interface KernelExports {
  memory: WebAssembly.Memory;
  heapBase(): number;
  horizontal(src: number, width: number, rows: number, outWidth: number, bounds: number, weights: number, taps: number, out: number): void;
  vertical(src: number, stride: number, outHeight: number, rowOffset: number, bounds: number, weights: number, taps: number, out: number): void;
}

let kernelModule: WebAssembly.Module | undefined;
let kernel: KernelExports | undefined;

/** Memory kept between calls; a larger image's memory is let go once it is resized. */
const RETAINED_BYTES = 64 * 2 ** 20;
const PAGE = 65536;
/** The kernel reads and writes up to 15 bytes past a buffer's end. */
const SLACK = 16;

function instance(): KernelExports {
  kernelModule ??= new WebAssembly.Module(readFileSync(join(packageRoot(), "src", "pipeline", "resample.wasm")));
  kernel ??= new WebAssembly.Instance(kernelModule, {}).exports as unknown as KernelExports;
  return kernel;
}

/** Hands out 16-byte aligned regions of the kernel's memory, growing it to fit. */
class Layout {
  private end: number;
  constructor(private readonly k: KernelExports) {
    this.end = k.heapBase();
  }
  take(bytes: number): number {
    const at = this.end;
    this.end = at + Math.ceil((bytes + SLACK) / 16) * 16;
    return at;
  }
  /** Grows the memory to hold everything taken; views of it must be made after this. */
  commit(): Uint8Array {
    const have = this.k.memory.buffer.byteLength;
    if (this.end > have) this.k.memory.grow(Math.ceil((this.end - have) / PAGE));
    return new Uint8Array(this.k.memory.buffer);
  }
}

function place(heap: Uint8Array, at: number, c: Coefficients): { bounds: number; weights: number } {
  heap.set(new Uint8Array(c.bounds.buffer, c.bounds.byteOffset, c.bounds.byteLength), at);
  const weights = at + Math.ceil((c.bounds.byteLength + SLACK) / 16) * 16;
  heap.set(new Uint8Array(c.weights.buffer, c.weights.byteOffset, c.weights.byteLength), weights);
  return { bounds: at, weights };
}

const coefficientBytes = (c: Coefficients) => c.bounds.byteLength + c.weights.byteLength + 2 * SLACK + 32;

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

  const k = instance();
  const layout = new Layout(k);
  const srcAt = layout.take(rows * width * 3);
  const hAt = ch ? layout.take(coefficientBytes(ch)) : 0;
  const vAt = cv ? layout.take(coefficientBytes(cv)) : 0;
  const midAt = ch && cv ? layout.take(rows * outWidth * 3) : 0;
  const outAt = layout.take(outWidth * outHeight * 3);
  const heap = layout.commit();

  heap.set(src.subarray(firstRow * width * 3, lastRow * width * 3), srcAt);
  if (ch) {
    const h = place(heap, hAt, ch);
    k.horizontal(srcAt, width, rows, outWidth, h.bounds, h.weights, ch.taps, cv ? midAt : outAt);
  }
  if (cv) {
    const v = place(heap, vAt, cv);
    k.vertical(ch ? midAt : srcAt, outWidth * 3, outHeight, firstRow, v.bounds, v.weights, cv.taps, outAt);
  }
  const out = heap.slice(outAt, outAt + outWidth * outHeight * 3);
  if (heap.byteLength > RETAINED_BYTES) kernel = undefined;
  return out;
}
