// AssemblyScript, compiled to src/image/pixels.wasm by `npm run build:wasm` and run through
// src/image/pixel-kernel.ts.
//
// The two passes of Pillow's bicubic resize (Resample.c, ImagingResampleHorizontal_8bpc and
// ImagingResampleVertical_8bpc) on packed RGB, with 128-bit integer SIMD, and the normalisation
// to float32 planes. The arithmetic is Pillow's: 22-bit fixed-point weights (computed by
// resample.ts), each tap pixel * weight summed in int32 from a rounding half, an arithmetic
// shift, a clip to 0..255. Every buffer handed in is followed by at least 16 bytes of slack
// (pixel-kernel.ts), because the loads and stores here run up to 15 bytes past a row's end.

const PRECISION_BITS: i32 = 22;

/** Where the caller may start laying out its buffers. */
export function heapBase(): usize {
  return (__heap_base + 15) & ~15;
}

/** sum >> 22 clipped to 0..255 per lane, as four bytes in lanes 0..3 (narrowing saturates). */
// @ts-ignore: decorator
@inline
function clip8x4(sum: v128): v128 {
  const shifted = i32x4.shr_s(sum, PRECISION_BITS);
  const words = i16x8.narrow_i32x4_s(shifted, shifted);
  return i8x16.narrow_i16x8_u(words, words);
}

/**
 * Rows of `width` RGB pixels at `src` to rows of `outWidth` at `out`. Output pixel xx reads
 * bounds[2 xx + 1] source pixels from bounds[2 xx] with weights[xx * taps ...]. One pixel's
 * R, G, B (and the next pixel's R, ignored) share one vector.
 */
export function horizontal(src: usize, width: i32, rows: i32, outWidth: i32, bounds: usize, weights: usize, taps: i32, out: usize): void {
  const half = i32x4.splat(1 << (PRECISION_BITS - 1));
  const inStride = <usize>width * 3;
  for (let y = 0; y < rows; y++) {
    const row = src + <usize>y * inStride;
    let o = out + <usize>y * <usize>outWidth * 3;
    for (let xx = 0; xx < outWidth; xx++) {
      let p = row + <usize>load<i32>(bounds + (<usize>xx << 3)) * 3;
      const count = load<i32>(bounds + (<usize>xx << 3), 4);
      let w = weights + <usize>xx * <usize>taps * 4;
      let sum = half;
      for (let x = 0; x < count; x++) {
        const pixel = i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(v128.load32_zero(p)));
        sum = i32x4.add(sum, i32x4.mul(pixel, i32x4.splat(load<i32>(w))));
        p += 3;
        w += 4;
      }
      // Four bytes stored, three meant: the fourth is overwritten by the next pixel (or slack).
      v128.store32_lane(o, clip8x4(sum), 0);
      o += 3;
    }
  }
}

/**
 * Rows of `stride` bytes at `src` (source row `rowOffset` first) to `outHeight` rows at `out`:
 * output row yy sums bounds[2 yy + 1] source rows from bounds[2 yy], 16 bytes at a time.
 */
export function vertical(src: usize, stride: i32, outHeight: i32, rowOffset: i32, bounds: usize, weights: usize, taps: i32, out: usize): void {
  const half = i32x4.splat(1 << (PRECISION_BITS - 1));
  const rowBytes = <usize>stride;
  for (let yy = 0; yy < outHeight; yy++) {
    const first = src + <usize>(load<i32>(bounds + (<usize>yy << 3)) - rowOffset) * rowBytes;
    const count = load<i32>(bounds + (<usize>yy << 3), 4);
    const w0 = weights + <usize>yy * <usize>taps * 4;
    const o = out + <usize>yy * rowBytes;
    for (let i: usize = 0; i < rowBytes; i += 16) {
      let s0 = half;
      let s1 = half;
      let s2 = half;
      let s3 = half;
      let p = first + i;
      for (let y = 0; y < count; y++) {
        const w = i32x4.splat(load<i32>(w0 + (<usize>y << 2)));
        const bytes = v128.load(p);
        const lo = i16x8.extend_low_i8x16_u(bytes);
        const hi = i16x8.extend_high_i8x16_u(bytes);
        s0 = i32x4.add(s0, i32x4.mul(i32x4.extend_low_i16x8_u(lo), w));
        s1 = i32x4.add(s1, i32x4.mul(i32x4.extend_high_i16x8_u(lo), w));
        s2 = i32x4.add(s2, i32x4.mul(i32x4.extend_low_i16x8_u(hi), w));
        s3 = i32x4.add(s3, i32x4.mul(i32x4.extend_high_i16x8_u(hi), w));
        p += rowBytes;
      }
      const lo = i16x8.narrow_i32x4_s(i32x4.shr_s(s0, PRECISION_BITS), i32x4.shr_s(s1, PRECISION_BITS));
      const hi = i16x8.narrow_i32x4_s(i32x4.shr_s(s2, PRECISION_BITS), i32x4.shr_s(s3, PRECISION_BITS));
      // Past the row's end this writes into the next output row, which is computed after it.
      v128.store(o + i, i8x16.narrow_i16x8_u(lo, hi));
    }
  }
}

/**
 * Packed RGB bytes to channel-first float32 planes through a 3 x 256 table of the normalised
 * values (computed by the caller, so they are exactly its float64 arithmetic rounded once).
 */
export function normalize(src: usize, pixels: i32, table: usize, out: usize): void {
  const plane = <usize>pixels << 2;
  let p = src;
  let o = out;
  const end = out + plane;
  while (o < end) {
    store<f32>(o, load<f32>(table + (<usize>load<u8>(p) << 2)));
    store<f32>(o + plane, load<f32>(table + 1024 + (<usize>load<u8>(p, 1) << 2)));
    store<f32>(o + 2 * plane, load<f32>(table + 2048 + (<usize>load<u8>(p, 2) << 2)));
    p += 3;
    o += 4;
  }
}
