/**
 * The WebAssembly pixel kernel (src/image/wasm/pixels.ts, compiled to pixels.wasm): loaded
 * once per thread, its memory laid out per call. resample.ts and normalize.ts run through it.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "../package-root.js";

export interface PixelKernel {
  horizontal(src: number, width: number, rows: number, outWidth: number, bounds: number, weights: number, taps: number, out: number): void;
  vertical(src: number, stride: number, outHeight: number, rowOffset: number, bounds: number, weights: number, taps: number, out: number): void;
  normalize(src: number, pixels: number, table: number, out: number): void;
}

interface KernelExports extends PixelKernel {
  memory: WebAssembly.Memory;
  heapBase(): number;
}

let compiled: WebAssembly.Module | undefined;
let kernel: KernelExports | undefined;

/** Memory kept between calls; a larger image's memory is let go once it is done. */
const RETAINED_BYTES = 64 * 2 ** 20;
const PAGE = 65536;
/** WebAssembly's 32-bit addresses. */
const MAX_MEMORY = 2 ** 32;
/** The kernel reads and writes up to 15 bytes past a buffer's end. */
const SLACK = 16;

function instance(): KernelExports {
  compiled ??= new WebAssembly.Module(readFileSync(join(packageRoot(), "src", "image", "pixels.wasm")));
  kernel ??= new WebAssembly.Instance(compiled, {}).exports as unknown as KernelExports;
  return kernel;
}

/**
 * Runs `work` with the kernel and one 16-byte aligned region of its memory per entry of `sizes`
 * (bytes), at the offsets `at`. `heap` views the whole memory; what `work` returns must not be a
 * view of it, since the next call reuses (or lets go of) that memory.
 */
export function withKernel<T>(sizes: number[], work: (kernel: PixelKernel, heap: Uint8Array, at: number[]) => T): T {
  const k = instance();
  const at: number[] = [];
  let end = k.heapBase();
  for (const bytes of sizes) {
    at.push(end);
    end += Math.ceil((bytes + SLACK) / 16) * 16;
  }
  const have = k.memory.buffer.byteLength;
  if (end > have) grow(k.memory, end, have);
  try {
    return work(k, new Uint8Array(k.memory.buffer), at);
  } finally {
    if (k.memory.buffer.byteLength > RETAINED_BYTES) kernel = undefined;
  }
}

function grow(memory: WebAssembly.Memory, end: number, have: number): void {
  const needed = `${Math.ceil(end / 2 ** 20)} MiB of working memory`;
  if (end > MAX_MEMORY) throw new Error(`this image needs ${needed}, over the 4 GiB WebAssembly can address; refuse such images with a lower --max-pixels`);
  try {
    memory.grow(Math.ceil((end - have) / PAGE));
  } catch (error) {
    throw new Error(`could not get the ${needed} this image needs (${(error as Error).message}); refuse such images with a lower --max-pixels`);
  }
}
