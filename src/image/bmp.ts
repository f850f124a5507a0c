/**
 * A BMP decoder that reads what PIL's BmpImagePlugin (Pillow 11) reads, to PIL's RGB pixels.
 *
 * Our own because sharp (libvips) has no BMP reader and no small, maintained npm package decodes
 * BMP as PIL does (PIL expands 16-bit 5-5-5 and 5-6-5 pixels with `v * 255 / 31` and
 * `v * 255 / 63`, gives palette indices past the palette black, reads only the bitfield layouts
 * it lists). It follows BmpImagePlugin step by step, its quirks included (RLE4 absolute runs of
 * odd length, the RLE delta escape). What PIL refuses is refused here with PIL's reason; the few
 * layouts PIL reads as garbage (a black-and-white or identity-gray palette whose size does not
 * match the bit depth) are refused rather than guessed at.
 *
 * Layouts read: file header `BM`; info headers of 12 (OS/2 1.x core), 40, 52, 56, 64, 108 and
 * 124 bytes; 1, 4 and 8 bits with a palette; 16 bits (5-5-5, or 5-5-5 / 5-6-5 bitfields);
 * 24 bits; 32 bits (BGRX, or the bitfield byte orders PIL lists, alpha dropped); RLE8 and RLE4;
 * bottom-up and top-down rows (RLE too); a last row without its padding, which PIL reads.
 */

export class BmpError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BmpError";
  }
}

export interface BmpHeader {
  width: number;
  height: number;
}

export interface BmpRgb extends BmpHeader {
  /** RGB, HWC, uint8. */
  data: Uint8Array;
}

export function isBmp(input: Uint8Array): boolean {
  return input.length >= 2 && input[0] === 0x42 && input[1] === 0x4d; // "BM"
}

const HEADER_SIZES = new Set([12, 40, 52, 56, 64, 108, 124]);
const RAW = 0;
const RLE8 = 1;
const RLE4 = 2;
const BITFIELDS = 3;

/** The 32-bit bitfield layouts PIL reads (r, g, b, a masks); all-zero masks mean BGRA. */
const MASKS_32 = [
  [0xff0000, 0xff00, 0xff, 0x0],
  [0xff000000, 0xff0000, 0xff00, 0x0],
  [0xff000000, 0xff00, 0xff, 0x0],
  [0xff000000, 0xff0000, 0xff00, 0xff],
  [0xff, 0xff00, 0xff0000, 0xff000000],
  [0xff0000, 0xff00, 0xff, 0xff000000],
  [0xff000000, 0xff00, 0xff, 0xff0000],
  [0x0, 0x0, 0x0, 0x0],
];

type PixelLayout =
  | { kind: "palette"; bits: number; palette: Uint8Array } // palette: RGB triples, 256 entries, black past the file's
  | { kind: "gray"; bits: number } // identity gray palette: the index is the value
  | { kind: "bilevel" } // black-and-white 2-entry palette, read as 1 bit per pixel
  | { kind: "bgr15" }
  | { kind: "bgr16" }
  | { kind: "bgr24" }
  | { kind: "bits32"; shifts: [number, number, number] };

interface Parsed extends BmpHeader {
  bits: number;
  compression: number;
  topDown: boolean;
  layout: PixelLayout;
  offset: number;
}

function parse(buf: Uint8Array): Parsed {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const need = (end: number) => {
    if (end > buf.length) throw new BmpError("truncated BMP header");
  };
  need(18);
  let offset = view.getUint32(10, true);
  const headerSize = view.getUint32(14, true);
  if (!HEADER_SIZES.has(headerSize)) throw new BmpError(`Unsupported BMP header type (${headerSize})`);
  need(14 + headerSize);
  const h = 18; // header data, after its size field
  let width: number, height: number, bits: number, compression: number, colors: number;
  let topDown = false;
  let paletteEntry: number;
  let masks: number[] | undefined;
  let pos = 14 + headerSize;
  if (headerSize === 12) {
    width = view.getUint16(h, true);
    height = view.getUint16(h + 2, true);
    bits = view.getUint16(h + 6, true);
    compression = RAW;
    colors = 0;
    paletteEntry = 3;
  } else {
    topDown = buf[h + 7] === 0xff; // PIL's test for a negative height
    width = view.getUint32(h, true);
    height = topDown ? 2 ** 32 - view.getUint32(h + 4, true) : view.getUint32(h + 4, true);
    bits = view.getUint16(h + 10, true);
    compression = view.getUint32(h + 12, true);
    colors = view.getUint32(h + 28, true);
    paletteEntry = 4;
    if (compression === BITFIELDS) {
      if (headerSize >= 52) {
        masks = [0, 1, 2].map((i) => view.getUint32(h + 36 + i * 4, true));
        masks.push(headerSize >= 56 ? view.getUint32(h + 48, true) : 0);
      } else {
        need(pos + 12);
        masks = [0, 1, 2].map((i) => view.getUint32(pos + i * 4, true));
        masks.push(0);
        pos += 12;
      }
    }
  }
  colors = colors || 2 ** bits;
  if (offset === 14 + headerSize && bits <= 8) offset += 4 * colors; // as PIL, for files whose offset skips no palette
  if (![1, 4, 8, 16, 24, 32].includes(bits)) throw new BmpError(`Unsupported BMP pixel depth (${bits})`);

  let layout: PixelLayout;
  if (bits === 16) layout = { kind: "bgr15" };
  else if (bits === 24) layout = { kind: "bgr24" };
  else if (bits === 32) layout = { kind: "bits32", shifts: [16, 8, 0] };
  else layout = { kind: "palette", bits, palette: new Uint8Array(0) };

  if (compression === BITFIELDS) {
    const [r, g, b, a] = masks!;
    const same = (m: number[]) => m[0] === r && m[1] === g && m[2] === b;
    if (bits === 32 && MASKS_32.some((m) => same(m) && m[3] === a)) {
      const shift = (m: number, fallback: number) => (m === 0 ? fallback : Math.log2(m / 0xff));
      layout = { kind: "bits32", shifts: [shift(r, 16), shift(g, 8), shift(b, 0)] };
    } else if (bits === 24 && same([0xff0000, 0xff00, 0xff])) {
      layout = { kind: "bgr24" };
    } else if (bits === 16 && same([0xf800, 0x7e0, 0x1f])) {
      layout = { kind: "bgr16" };
    } else if (bits === 16 && same([0x7c00, 0x3e0, 0x1f])) {
      layout = { kind: "bgr15" };
    } else {
      throw new BmpError("Unsupported BMP bitfields layout");
    }
  } else if (compression === RLE8 || compression === RLE4) {
    if (bits !== (compression === RLE8 ? 8 : 4)) throw new BmpError(`RLE${compression === RLE8 ? 8 : 4} with ${bits} bits per pixel`);
  } else if (compression !== RAW) {
    throw new BmpError(`Unsupported BMP compression (${compression})`);
  }

  if (layout.kind === "palette") {
    if (!(colors > 0 && colors <= 65536)) throw new BmpError(`Unsupported BMP Palette size (${colors})`);
    const stored = buf.subarray(pos, Math.min(buf.length, pos + paletteEntry * colors));
    pos += stored.length;
    const indices = colors === 2 ? [0, 255] : Array.from({ length: colors }, (_, i) => i);
    let grayscale = true;
    for (let i = 0; i < indices.length && grayscale; i++) {
      const at = i * paletteEntry;
      // PIL compares the 3-byte slice with the gray value; a short palette compares unequal
      if (at + 3 > stored.length) grayscale = false;
      else for (let c = 0; c < 3; c++) if (stored[at + c] !== (indices[i] & 0xff)) grayscale = false;
    }
    if (grayscale) {
      // PIL then reads the pixels as mode "1" (1 bit each) or "L" (8 bits each) whatever the depth
      const rle = compression === RLE8 || compression === RLE4; // RLE gives one byte per pixel
      if (colors === 2 && bits === 1 && !rle) layout = { kind: "bilevel" };
      else if (colors !== 2 && (bits === 8 || rle)) layout = { kind: "gray", bits };
      else throw new BmpError(`${bits}-bit BMP with a ${colors}-entry gray palette (PIL misreads it)`);
    } else {
      const palette = new Uint8Array(256 * 3); // entries past the file's stay black, as PIL's
      const n = Math.min(256, Math.floor(stored.length / paletteEntry));
      for (let i = 0; i < n; i++) {
        palette[i * 3] = stored[i * paletteEntry + 2];
        palette[i * 3 + 1] = stored[i * paletteEntry + 1];
        palette[i * 3 + 2] = stored[i * paletteEntry];
      }
      layout = { kind: "palette", bits, palette };
    }
  }
  return { width, height, bits, compression, topDown, layout, offset: offset || pos };
}

/** Width and height, read from the header only (for the decompression bomb guard). */
export function bmpHeader(buf: Uint8Array): BmpHeader {
  const { width, height } = parse(buf);
  return { width, height };
}

export function decodeBmp(buf: Uint8Array): BmpRgb {
  const p = parse(buf);
  const { width, height } = p;
  if (width === 0 || height === 0) throw new BmpError(`BMP of size ${width}x${height}`);
  const out = new Uint8Array(width * height * 3);
  if (p.compression === RLE8 || p.compression === RLE4) {
    const indices = decodeRle(buf, p.offset, width, height, p.compression === RLE4);
    // rows as decoded are in file order: bottom-up, or top-down for a negative height (as PIL)
    for (let y = 0; y < height; y++) {
      const src = (p.topDown ? y : height - 1 - y) * width;
      for (let x = 0; x < width; x++) writeIndex(out, (y * width + x) * 3, indices[src + x], p.layout);
    }
    return { data: out, width, height };
  }
  const stride = ((width * p.bits + 31) >>> 3) & ~3;
  // PIL's raw decoder stops after the last row's pixels: that row's padding may be missing
  const lastRow = (width * p.bits + 7) >>> 3;
  if (p.offset + stride * (height - 1) + lastRow > buf.length) throw new BmpError("image file is truncated");
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  for (let y = 0; y < height; y++) {
    const row = p.offset + (p.topDown ? y : height - 1 - y) * stride;
    let o = y * width * 3;
    const layout = p.layout;
    for (let x = 0; x < width; x++, o += 3) {
      switch (layout.kind) {
        case "palette":
        case "gray": {
          const bitsPer = layout.bits;
          const byte = buf[row + ((x * bitsPer) >>> 3)];
          const index = bitsPer === 8 ? byte : (byte >>> (8 - bitsPer - ((x * bitsPer) & 7))) & ((1 << bitsPer) - 1);
          writeIndex(out, o, index, layout);
          break;
        }
        case "bilevel": {
          const v = (buf[row + (x >>> 3)] >>> (7 - (x & 7))) & 1 ? 255 : 0;
          out[o] = out[o + 1] = out[o + 2] = v;
          break;
        }
        case "bgr15": {
          const v = view.getUint16(row + x * 2, true);
          out[o] = Math.floor((((v >>> 10) & 31) * 255) / 31);
          out[o + 1] = Math.floor((((v >>> 5) & 31) * 255) / 31);
          out[o + 2] = Math.floor(((v & 31) * 255) / 31);
          break;
        }
        case "bgr16": {
          const v = view.getUint16(row + x * 2, true);
          out[o] = Math.floor((((v >>> 11) & 31) * 255) / 31);
          out[o + 1] = Math.floor((((v >>> 5) & 63) * 255) / 63);
          out[o + 2] = Math.floor(((v & 31) * 255) / 31);
          break;
        }
        case "bgr24":
          out[o] = buf[row + x * 3 + 2];
          out[o + 1] = buf[row + x * 3 + 1];
          out[o + 2] = buf[row + x * 3];
          break;
        case "bits32": {
          const v = view.getUint32(row + x * 4, true);
          out[o] = (v >>> layout.shifts[0]) & 0xff;
          out[o + 1] = (v >>> layout.shifts[1]) & 0xff;
          out[o + 2] = (v >>> layout.shifts[2]) & 0xff;
          break;
        }
      }
    }
  }
  return { data: out, width, height };
}

function writeIndex(out: Uint8Array, o: number, index: number, layout: PixelLayout): void {
  if (layout.kind === "palette") {
    // PIL's palettes hold 256 entries; an index past them (RLE4 gives at most 15) is black
    const at = index < 256 ? index * 3 : -1;
    out[o] = at < 0 ? 0 : layout.palette[at];
    out[o + 1] = at < 0 ? 0 : layout.palette[at + 1];
    out[o + 2] = at < 0 ? 0 : layout.palette[at + 2];
  } else {
    out[o] = out[o + 1] = out[o + 2] = index;
  }
}

/** PIL's BmpRleDecoder, line for line: indices in file row order (bottom row first). */
function decodeRle(buf: Uint8Array, offset: number, width: number, height: number, rle4: boolean): Uint8Array {
  const total = width * height;
  const data = new Uint8Array(total);
  let n = 0; // pixels written (PIL's len(data)); writes past `total` are dropped as PIL ignores them
  const push = (v: number) => {
    if (n < total) data[n] = v;
    n++;
  };
  let x = 0;
  let pos = offset;
  while (n < total) {
    if (pos + 2 > buf.length) break;
    let count = buf[pos];
    const byte = buf[pos + 1];
    pos += 2;
    if (count) {
      if (x + count > width) count = Math.max(0, width - x);
      for (let i = 0; i < count; i++) push(rle4 ? (i % 2 === 0 ? byte >>> 4 : byte & 15) : byte);
      x += count;
    } else if (byte === 0) {
      while (n % width !== 0) push(0); // end of line
      x = 0;
    } else if (byte === 1) {
      break; // end of bitmap
    } else if (byte === 2) {
      // delta: PIL reads two bytes, drops them, and takes the next two as (right, up)
      if (pos + 2 > buf.length) break;
      pos += 2;
      if (pos + 2 > buf.length) throw new BmpError("truncated RLE delta");
      const right = buf[pos];
      const up = buf[pos + 1];
      pos += 2;
      for (let i = 0; i < right + up * width; i++) push(0);
      x = n % width;
    } else {
      // absolute mode; RLE4 reads byte // 2 bytes (an odd count loses its last pixel, as PIL)
      const byteCount = rle4 ? byte >>> 1 : byte;
      const available = Math.min(byteCount, buf.length - pos);
      for (let i = 0; i < available; i++) {
        const v = buf[pos + i];
        if (rle4) {
          push(v >>> 4);
          push(v & 15);
        } else push(v);
      }
      pos += available;
      if (available < byteCount) break;
      x += byte;
      if (pos % 2 !== 0) pos++; // word alignment, counted from the start of the file as PIL does
    }
  }
  if (n < total) throw new BmpError("not enough image data");
  return data;
}
