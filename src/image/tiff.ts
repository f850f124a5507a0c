/**
 * The TIFF layouts where libvips and PIL (TiffImagePlugin, Pillow 11.3) part ways, read from the
 * first IFD's tags (classic TIFF, either byte order; PIL reads only the first page):
 * - what PIL reads and emb cannot (12-bit samples, CIELab, old-style JPEG, tiled separate
 *   planes): refused with a sentence saying so, rather than libvips's header error;
 * - what PIL cannot read and libvips can (signed or float samples in colour images, a missing
 *   PhotometricInterpretation outside PIL's table): refused as PIL refuses them;
 * - a grey image without PhotometricInterpretation: PIL takes WhiteIsZero (inverted up to
 *   8 bits, not at 16 bits or float); libvips refuses it, so the tag is added (`withPhotometric`);
 * - 16-bit grey tagged WhiteIsZero: PIL does not invert it, libvips does;
 * - signed grey and RGB with associated alpha, which PIL converts its own way (below).
 */
import type { Sharp } from "sharp";

export interface TiffLayout {
  bits: number[];
  compression: number;
  /** Undefined where the tag is missing. */
  photometric: number | undefined;
  samples: number;
  planar: number;
  tiled: boolean;
  extraSamples: number[];
  /** PIL's view: one value when every sample has the same format. */
  sampleFormat: number[];
}

interface Ifd {
  le: boolean;
  at: number;
  entries: { tag: number; type: number; count: number; at: number }[];
}

const TYPE_SIZES: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 16: 8 };

function readIfd(tiff: Buffer): Ifd | undefined {
  if (tiff.length < 8) return undefined;
  const order = tiff.toString("latin1", 0, 2);
  if (order !== "II" && order !== "MM") return undefined;
  const le = order === "II";
  const u16 = (at: number) => (le ? tiff.readUInt16LE(at) : tiff.readUInt16BE(at));
  const u32 = (at: number) => (le ? tiff.readUInt32LE(at) : tiff.readUInt32BE(at));
  if (u16(2) !== 42) return undefined; // BigTIFF (43) is left to libvips
  const at = u32(4);
  if (at + 2 > tiff.length) return undefined;
  const n = u16(at);
  if (at + 2 + n * 12 + 4 > tiff.length) return undefined;
  const entries = [];
  for (let i = 0; i < n; i++) {
    const e = at + 2 + i * 12;
    entries.push({ tag: u16(e), type: u16(e + 2), count: u32(e + 4), at: e });
  }
  return { le, at, entries };
}

function values(tiff: Buffer, ifd: Ifd, tag: number): number[] | undefined {
  const entry = ifd.entries.find((e) => e.tag === tag);
  if (!entry || (entry.type !== 1 && entry.type !== 3 && entry.type !== 4)) return undefined;
  const size = TYPE_SIZES[entry.type];
  const inline = size * entry.count <= 4;
  const base = inline ? entry.at + 8 : ifd.le ? tiff.readUInt32LE(entry.at + 8) : tiff.readUInt32BE(entry.at + 8);
  if (base + size * entry.count > tiff.length || entry.count > 1024) return undefined;
  const out: number[] = [];
  for (let i = 0; i < entry.count; i++) {
    const p = base + i * size;
    out.push(size === 1 ? tiff[p] : size === 2 ? (ifd.le ? tiff.readUInt16LE(p) : tiff.readUInt16BE(p)) : ifd.le ? tiff.readUInt32LE(p) : tiff.readUInt32BE(p));
  }
  return out;
}

export function tiffLayout(tiff: Buffer): TiffLayout | undefined {
  const ifd = readIfd(tiff);
  if (!ifd) return undefined;
  const one = (tag: number, fallback: number) => values(tiff, ifd, tag)?.[0] ?? fallback;
  const formats = values(tiff, ifd, 339) ?? [1];
  return {
    bits: values(tiff, ifd, 258) ?? [1],
    compression: one(259, 1),
    photometric: values(tiff, ifd, 262)?.[0],
    samples: one(277, 1),
    planar: one(284, 1),
    tiled: ifd.entries.some((e) => e.tag === 322),
    extraSamples: values(tiff, ifd, 338) ?? [],
    // PIL: a per-sample list of 1s is read as one 1
    sampleFormat: formats.length > 1 && formats.every((f) => f === 1) ? [1] : formats,
  };
}

/** Why emb refuses this TIFF (PIL reads it, or PIL refuses it too), or undefined. */
export function tiffRefusal(layout: TiffLayout): string | undefined {
  const { bits, photometric, samples, sampleFormat } = layout;
  const odd = bits.find((b) => ![1, 2, 4, 8, 16, 32, 64].includes(b));
  if (odd !== undefined) return `${odd}-bit TIFF images are not supported by emb (PIL reads 12-bit grey; convert to 16-bit first)`;
  if (photometric === 8 || photometric === 9 || photometric === 10) {
    return "CIELab TIFF images are not supported by emb (PIL converts Lab to RGB through lcms, which emb does not reproduce; convert to RGB first)";
  }
  if (layout.compression === 6) return "old-style JPEG-compressed TIFF images (compression 6) are not supported by emb (PIL reads them; convert first)";
  if (layout.tiled && layout.planar === 2) return "tiled TIFF images with separate colour planes are not supported by emb (PIL reads them; convert first)";
  const pil = "the Python reference (PIL) cannot read them";
  if (sampleFormat.length > 1 || (samples > 1 && sampleFormat[0] !== 1))
    return `TIFF images with signed or floating-point colour samples are not supported: ${pil}`;
  if (photometric === undefined && samples === 1 && missingPhotometric(layout) === undefined) {
    return `TIFF images without PhotometricInterpretation in this sample format are not supported: ${pil}`;
  }
  if (photometric === undefined && samples > 1) return `colour TIFF images without PhotometricInterpretation are not supported: ${pil}`;
  return undefined;
}

/**
 * The PhotometricInterpretation that makes libvips read a grey TIFF without the tag as PIL does:
 * PIL takes WhiteIsZero, which it inverts up to 8 bits and not at 16 bits or float, so those
 * read as BlackIsZero. Undefined where PIL has no mode for it.
 */
function missingPhotometric({ bits, sampleFormat }: TiffLayout): number | undefined {
  if (sampleFormat[0] === 1 && bits[0] <= 8) return 0;
  if (sampleFormat[0] === 1 && bits[0] === 16) return 1;
  if (sampleFormat[0] === 3 && bits[0] === 32) return 1;
  return undefined;
}

/**
 * The TIFF with the PhotometricInterpretation PIL reads it by (see missingPhotometric; 16-bit
 * WhiteIsZero as BlackIsZero), or the input itself where libvips already agrees. The first IFD
 * is copied to the end of the file with the tag set and the header pointed at it; values stored
 * outside the IFD keep their offsets.
 */
export function withPhotometric(tiff: Buffer, layout: TiffLayout): Buffer {
  let wanted: number | undefined;
  if (layout.samples !== 1) return tiff;
  if (layout.photometric === undefined) wanted = missingPhotometric(layout);
  else if (layout.photometric === 0 && layout.bits[0] === 16 && layout.sampleFormat[0] === 1) wanted = 1;
  const ifd = readIfd(tiff);
  if (wanted === undefined || !ifd) return tiff;
  const entries = ifd.entries.filter((e) => e.tag !== 262).map((e) => ({ tag: e.tag, bytes: tiff.subarray(e.at, e.at + 12) }));
  const photometric = Buffer.alloc(12);
  const u16 = (buf: Buffer, v: number, at: number) => (ifd.le ? buf.writeUInt16LE(v, at) : buf.writeUInt16BE(v, at));
  const u32 = (buf: Buffer, v: number, at: number) => (ifd.le ? buf.writeUInt32LE(v, at) : buf.writeUInt32BE(v, at));
  u16(photometric, 262, 0);
  u16(photometric, 3, 2);
  u32(photometric, 1, 4);
  u16(photometric, wanted, 8);
  entries.push({ tag: 262, bytes: photometric });
  entries.sort((a, b) => a.tag - b.tag);
  const start = tiff.length + (tiff.length % 2);
  const copy = Buffer.alloc(start - tiff.length + 2 + entries.length * 12 + 4);
  const at = start - tiff.length;
  u16(copy, entries.length, at);
  entries.forEach((e, i) => e.bytes.copy(copy, at + 2 + i * 12));
  tiff.copy(copy, at + 2 + entries.length * 12, ifd.at + 2 + ifd.entries.length * 12, ifd.at + 2 + ifd.entries.length * 12 + 4); // next IFD
  const out = Buffer.concat([tiff, copy]);
  u32(out, start, 4);
  return out;
}

/**
 * RGB with associated (premultiplied) alpha, as PIL's "RGBa" and "RGBa;16" unpackers read it:
 * 8-bit samples, or the high bytes of 16-bit ones, divided by alpha (v * 255 / a, integer
 * division, clipped), 0 where alpha is 0. libvips hands over the samples already divided, in
 * float32 and truncated; `premultipliedOf` undoes that exactly (checked on every 8-bit pair).
 */
export function isPremultipliedRgba(layout: TiffLayout): boolean {
  return layout.photometric === 2 && layout.samples === 4 && layout.extraSamples[0] === 1 && (layout.bits[0] === 8 || layout.bits[0] === 16);
}

/** The stored premultiplied sample whose division by libvips gave `divided` (max: 255 or 65535). */
export function premultipliedOf(divided: number, alpha: number, max: number): number {
  if (alpha === 0) return 0;
  const factor = Math.fround(max / alpha);
  const libvips = (v: number) => Math.min(max, Math.floor(Math.fround(factor * v)));
  const guess = Math.ceil((divided * alpha) / max);
  for (const v of [guess, guess - 1, guess + 1, guess - 2, guess + 2]) if (v >= 0 && v <= max && libvips(v) === divided) return v;
  return Math.min(max, guess);
}

/** PIL's unpremultiply of one 8-bit sample (Unpack.c unpackRGBa). */
export function pilUnpremultiply(v: number, a: number): number {
  if (a === 0) return 0;
  if (a === 255) return v;
  return Math.min(255, Math.floor((v * 255) / a));
}

/** Pixels as decode.ts's RgbImage (RGB, HWC, uint8). */
export interface TiffRgb {
  pixels: Uint8Array;
  width: number;
  height: number;
}

/** RGB with associated alpha, divided as PIL divides it (see isPremultipliedRgba). */
export async function premultipliedRgba(image: Sharp, bits: number): Promise<TiffRgb> {
  const wide = bits === 16;
  const { data, info } = await (wide ? image.toColourspace("rgb16").raw({ depth: "ushort" }) : image.raw()).toBuffer({ resolveWithObject: true });
  const samples = wide ? new Uint16Array(data.buffer, data.byteOffset, data.length / 2) : data;
  const max = wide ? 65535 : 255;
  const n = info.width * info.height;
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const a = samples[i * 4 + 3];
    for (let c = 0; c < 3; c++) {
      const v = premultipliedOf(samples[i * 4 + c], a, max);
      // PIL divides the high bytes of 16-bit samples
      out[i * 3 + c] = wide ? pilUnpremultiply(v >>> 8, a >>> 8) : pilUnpremultiply(v, a);
    }
  }
  return { pixels: out, width: info.width, height: info.height };
}

/**
 * Signed grey as PIL reads it: 8-bit as its bytes taken unsigned (PIL's "L"), 16 and 32-bit as
 * integers ("I;16S", "I;32S") clipped to 0..255 by convert("RGB").
 */
export async function signedGray(image: Sharp, depth: "char" | "short" | "int"): Promise<TiffRgb> {
  // without grey16, libvips would scale 16-bit samples to 8 bits on the way out
  const grey = depth === "short" ? image.toColourspace("grey16") : image;
  const { data, info } = await grey.extractChannel(0).raw({ depth }).toBuffer({ resolveWithObject: true });
  const n = info.width * info.height;
  const values =
    depth === "char"
      ? new Uint8Array(data.buffer, data.byteOffset, n)
      : depth === "short"
        ? new Int16Array(data.buffer, data.byteOffset, n)
        : new Int32Array(data.buffer, data.byteOffset, n);
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) out.fill(Math.max(0, Math.min(255, values[i])), i * 3, i * 3 + 3);
  return { pixels: out, width: info.width, height: info.height };
}
