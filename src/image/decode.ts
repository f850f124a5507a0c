/**
 * Image decoding and resizing with sharp, matching how the Python reference loads images:
 * PIL `Image.open`, `ImageOps.exif_transpose`, `convert("RGB")`, then the HF processor's
 * resize (PIL's filter its preprocessor_config.json names; bicubic for SigLIP and Florence-2).
 *
 * Two steps: decoding to 8-bit RGB exactly as PIL does (below), then resample.ts resizes with
 * PIL's arithmetic. What PIL does, and so what this does:
 *
 * - Embedded ICC profiles are ignored: PIL keeps them in `info["icc_profile"]` and never applies
 *   them, so a Display P3 or Adobe RGB photo is read as if its numbers were sRGB. sharp would
 *   convert them (over 100 levels away from PIL on saturated colours); `colorManagement:
 *   "srgb"` opts into that.
 * - CMYK (JPEG, YCCK JPEG and TIFF) by PIL's plain formula, R = (255 - C)(255 - K) / 255 rounded,
 *   with Adobe's inverted CMYK JPEG convention (as PIL, with or without the APP14 marker).
 * - 16-bit: gray without alpha is clipped at 255 (PIL's "I;16" -> "L"); RGB, RGBA and gray with
 *   alpha keep the high byte (PIL's "RGB;16B"-style unpacking).
 * - Alpha, tRNS and palette transparency are dropped, never composited: the colour under a
 *   transparent pixel is what PIL returns.
 * - Orientation: the EXIF Orientation tag (in a PNG also an eXIf chunk after the image data and
 *   ImageMagick's "Raw profile type exif" text chunk; in a TIFF the tag), or when there is none,
 *   `tiff:Orientation` in the XMP packet (PIL's `getexif()` falls back to it); all eight values,
 *   mirrored ones included.
 * - The first frame of animated GIF and WebP and the first page of a multi-page TIFF; in a GIF,
 *   transparent pixels and the screen around a smaller first frame take PIL's fill colour.
 * - Not exact: AVIF. sharp decodes it through libheif, PIL through libavif; they differ by 1
 *   level (YCbCr rounding) at 4:4:4 and more at 4:2:0, whose chroma they upsample differently
 *   (measured bounds in test/image/photos.test.ts). An AVIF sequence: its still image (avif.ts).
 * - BMP, which sharp cannot read, by bmp.ts (PIL's BmpImagePlugin, re-implemented).
 * - TIFF layouts libvips reads otherwise (signed grey, premultiplied alpha, no
 *   PhotometricInterpretation) as PIL, or refused with a reason, by tiff.ts; damaged PNGs that
 *   PIL refuses and libpng reads are refused by png-damage.ts.
 * - Formats PIL cannot open but sharp can (SVG) are refused rather than rendered.
 */
import { inflateSync } from "node:zlib";
import sharp, { type Metadata, type OutputInfo, type Sharp } from "sharp";
import { avifStill, isAvifSequence } from "./avif.js";
import { BmpError, bmpHeader, decodeBmp, isBmp } from "./bmp.js";
import { centerCrop, shortestEdgeSize } from "./crop.js";
import { patchGrid, type PatchSpec } from "./patches.js";
import { checkPngChunks } from "./png-chunks.js";
import { pngDamage } from "./png-damage.js";
import { resizeRgb, type ResampleFilter } from "./resample.js";
import { isPremultipliedRgba, premultipliedRgba, signedGray, type TiffLayout, tiffLayout, tiffRefusal, withPhotometric } from "./tiff.js";

export interface ResizeSpec {
  width: number;
  height: number;
  /** The model's preprocessor_config.json `resample`, as PIL names it; bicubic when absent. */
  resample?: ResampleFilter;
  /** Resize the shortest edge to this (aspect kept), then center crop to width x height. */
  shortestEdge?: number;
  /** Resize to the largest grid of whole patches within the budget (aspect kept); width and height unused. */
  patches?: PatchSpec;
}

export interface DecodedImage {
  /** RGB, HWC, uint8, `width * height * 3` bytes. */
  pixels: Uint8Array;
  width: number;
  height: number;
  /** Size of the image as decoded (after EXIF orientation), before resizing. */
  sourceWidth: number;
  sourceHeight: number;
}

/** An image decoded to 8-bit RGB (after orientation), before any resizing. */
export interface RgbImage {
  /** RGB, HWC, uint8, `width * height * 3` bytes. */
  pixels: Uint8Array;
  width: number;
  height: number;
}

/**
 * What to do with an embedded ICC profile:
 * - `"none"` (the default): ignore it, as PIL (and so the Python reference) does. Pixel values
 *   are taken as they are stored, which is what the model was fed in training and evaluation.
 * - `"srgb"`: convert the pixels from the embedded profile to sRGB (perceptual intent, lcms), as
 *   colour-managed viewers show them. Images without a profile decode as with `"none"`.
 *   Embeddings then no longer match the Python reference's for images that carry a profile.
 * Meant for the CLI's `--color-management none|srgb`.
 */
export type ColorManagement = "none" | "srgb";
export const COLOR_MANAGEMENT_MODES: readonly ColorManagement[] = ["none", "srgb"];

export interface DecodeOptions {
  /** Decompression bomb guard: images with more pixels are refused. Default DEFAULT_MAX_PIXELS. */
  maxPixels?: number;
  /** Embedded ICC profiles: ignored ("none", the default, as PIL) or applied ("srgb"). */
  colorManagement?: ColorManagement;
}

/**
 * What the decoding adds to an output's fingerprint: nothing for the default, so folders and
 * caches made before colour management was a choice still match; the mode when it converts.
 */
export function decodeFingerprint(decode: DecodeOptions | undefined): { colorManagement?: ColorManagement } {
  const colorManagement = decode?.colorManagement;
  return colorManagement && colorManagement !== "none" ? { colorManagement } : {};
}

export class ImageDecodeError extends Error {
  constructor(
    message: string,
    readonly reason: "empty" | "too-large" | "unreadable",
  ) {
    super(message);
    this.name = "ImageDecodeError";
  }
}

/** PIL refuses images over twice Image.MAX_IMAGE_PIXELS (89,478,485): a decompression bomb. */
export const DEFAULT_MAX_PIXELS = 178_956_970;

sharp.concurrency(1); // parallelism comes from decoding several images at once, not threads per image
sharp.cache(false); // every image is decoded once: a cache only holds memory

/** Decodes and resizes to `size` with PIL's filter `size.resample` (bicubic when absent). */
export async function decodeAndResize(input: Buffer, size: ResizeSpec, options: DecodeOptions = {}): Promise<DecodedImage> {
  const rgb = await decodeImage(input, options);
  return { ...resizeForModel(rgb, size), sourceWidth: rgb.width, sourceHeight: rgb.height };
}

/** RGB resized as the model's processor does: straight to the size, or shortest edge then center crop. */
export function resizeForModel(rgb: RgbImage, size: ResizeSpec): RgbImage {
  const resize = (width: number, height: number): RgbImage => ({
    pixels: resizeRgb(rgb.pixels, rgb.width, rgb.height, width, height, size.resample),
    width,
    height,
  });
  if (size.patches) {
    const target = patchGrid(rgb.width, rgb.height, size.patches.size, size.patches.maxPatches);
    return resize(target.width, target.height);
  }
  if (size.shortestEdge === undefined) return resize(size.width, size.height);
  const edge = shortestEdgeSize(rgb.width, rgb.height, size.shortestEdge);
  const resized = resize(edge.width, edge.height);
  return { pixels: centerCrop(resized.pixels, resized.width, resized.height, size.width, size.height), width: size.width, height: size.height };
}

/** Decodes to 8-bit RGB as PIL's `exif_transpose(Image.open(f)).convert("RGB")` does. */
export async function decodeImage(input: Buffer, options: DecodeOptions = {}): Promise<RgbImage> {
  if (input.length === 0) throw new ImageDecodeError("empty file (0 bytes)", "empty");
  checkPngChunks(input); // before anything unpacks a PNG's compressed chunks
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  const colorManagement = options.colorManagement ?? "none";
  if (!COLOR_MANAGEMENT_MODES.includes(colorManagement)) throw new Error(`unknown colorManagement "${colorManagement}"`);
  if (isBmp(input)) return decodeBmpImage(input, maxPixels);
  const damage = await pngDamage(input); // libpng reads some damaged PNGs that PIL refuses
  if (damage)
    throw new ImageDecodeError(
      `could not decode this PNG image: the file is damaged (${damage}; PIL cannot read it either); export or download it again`,
      "unreadable",
    );

  const tiff = tiffLayout(input); // undefined for anything but a classic TIFF
  const refusal = tiff && tiffRefusal(tiff);
  if (refusal) throw new ImageDecodeError(refusal, "unreadable");
  const source = tiff ? withPhotometric(input, tiff) : avifStill(input);

  let meta: Metadata;
  try {
    meta = await sharp(source, { limitInputPixels: false }).metadata();
  } catch (err) {
    const known = unsupportedFormat(input);
    if (known) throw new ImageDecodeError(known, "unreadable");
    throw new ImageDecodeError(`not a readable image: ${messageOf(err)}`, "unreadable");
  }
  if (!PIL_READS.has(meta.format) || (meta.format === "heif" && meta.compression !== "av1")) {
    const name = meta.format === "heif" ? `HEIF (${meta.compression ?? "unknown"})` : meta.format.toUpperCase();
    throw new ImageDecodeError(`${name} images are not supported: the Python reference (PIL) cannot read them`, "unreadable");
  }
  guardPixels(meta.width ?? 0, meta.height ?? 0, maxPixels);
  let rgb: RgbImage;
  try {
    rgb = await decodePixels(source, meta, colorManagement, tiff);
  } catch (err) {
    throw new ImageDecodeError(`could not decode this ${meta.format.toUpperCase()} image: ${damageOf(err)}`, "unreadable");
  }
  return orient(rgb, pilOrientation(input, meta));
}

/** What PIL opens and sharp reads the same way (checked pixel for pixel by the photo tests). */
const PIL_READS = new Set<string>(["jpeg", "png", "webp", "gif", "tiff", "heif"]);

function guardPixels(width: number, height: number, maxPixels: number): void {
  const pixels = width * height;
  if (pixels > maxPixels) {
    throw new ImageDecodeError(
      `image has ${width}x${height} = ${pixels} pixels, over the limit of ${maxPixels} (decompression bomb guard; raise it with --max-pixels)`,
      "too-large",
    );
  }
}

function decodeBmpImage(input: Buffer, maxPixels: number): RgbImage {
  try {
    const { width, height } = bmpHeader(input);
    guardPixels(width, height, maxPixels);
    const bmp = decodeBmp(input);
    return { pixels: bmp.data, width: bmp.width, height: bmp.height };
  } catch (err) {
    if (err instanceof ImageDecodeError) throw err;
    const message = err instanceof BmpError ? err.message : `truncated or malformed (${messageOf(err)})`;
    throw new ImageDecodeError(`could not decode BMP image: ${message}`, "unreadable");
  }
}

async function decodePixels(input: Buffer, meta: Metadata, colorManagement: ColorManagement, tiff?: TiffLayout): Promise<RgbImage> {
  const applyProfile = colorManagement === "srgb" && meta.hasProfile;
  const image = sharp(input, { limitInputPixels: false, failOn: "error", ignoreIcc: !applyProfile });
  if (meta.space === "cmyk" && !applyProfile) {
    return cmykToRgb(image);
  }
  if ((meta.depth === "char" || meta.depth === "short" || meta.depth === "int") && !applyProfile) return signedGray(image, meta.depth);
  if (tiff && isPremultipliedRgba(tiff) && !applyProfile) return premultipliedRgba(image, tiff.bits[0]);
  if (meta.depth === "ushort" && !applyProfile) {
    return (meta.channels ?? 3) === 1 || isGray16WithColourKey(input) ? clipped16BitGray(image) : highByte16Bit(image, meta);
  }
  if (meta.format === "gif") return gifFirstFrame(image, gifFirstFrameOf(input));
  const pipeline = image.removeAlpha().toColourspace("srgb");
  // 16-bit input with a profile is converted into a 16-bit P3 working space; bring it to sRGB
  if (applyProfile && meta.depth === "ushort") pipeline.withIccProfile("srgb");
  return toRgb(await pipeline.raw().toBuffer({ resolveWithObject: true }));
}

function toRgb({ data, info }: { data: Buffer; info: OutputInfo }): RgbImage {
  // A plain Uint8Array view, not a copy: the resize copies it into WebAssembly memory anyway.
  return { pixels: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
}

/**
 * PIL's CMYK -> RGB (Convert.c cmyk2rgb): each channel is nk - MULDIV255(C, nk) with
 * nk = 255 - K, i.e. (255 - C)(255 - K) / 255 rounded; no colour management. PIL reads every
 * CMYK JPEG as Adobe-inverted; sharp's CMYK values already agree with PIL's, Adobe APP14 marker
 * or not (checked on both kinds of file).
 */
async function cmykToRgb(image: Sharp): Promise<RgbImage> {
  const { data, info } = await image.pipelineColourspace("cmyk").toColourspace("cmyk").raw().toBuffer({ resolveWithObject: true });
  const n = info.width * info.height;
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const nk = 255 - data[i * info.channels + 3];
    for (let c = 0; c < 3; c++) {
      const t = data[i * info.channels + c] * nk + 128;
      out[i * 3 + c] = nk - (((t >> 8) + t) >> 8);
    }
  }
  return { pixels: out, width: info.width, height: info.height };
}

/**
 * PIL's first GIF frame: the screen starts filled with the frame's transparent index (palette
 * entry 0 without one) and the frame is drawn into it; convert("RGB") then looks every index up,
 * so transparent pixels and the screen around a smaller frame get that entry's colour. sharp
 * leaves transparent pixels at alpha 0 and the screen around the frame black or transparent:
 * those pixels take PIL's fill colour.
 */
async function gifFirstFrame(image: Sharp, first: GifFirstFrame | undefined): Promise<RgbImage> {
  const { data, info } = await image.toColourspace("srgb").ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  const out = new Uint8Array(info.width * info.height * 3);
  for (let y = 0, i = 0; y < info.height; y++) {
    for (let x = 0; x < info.width; x++, i++) {
      const outside = first !== undefined && (x < first.left || y < first.top || x >= first.left + first.width || y >= first.top + first.height);
      const fill = first !== undefined && (outside || data[i * 4 + 3] === 0);
      for (let c = 0; c < 3; c++) out[i * 3 + c] = fill ? first.fill[c] : data[i * 4 + c];
    }
  }
  return { pixels: out, width: info.width, height: info.height };
}

interface GifFirstFrame {
  /** The colour PIL gives transparent pixels and the screen around the frame. */
  fill: [number, number, number];
  left: number;
  top: number;
  width: number;
  height: number;
}

/** The first image descriptor of a GIF, its palette and the transparent index before it. */
function gifFirstFrameOf(gif: Buffer): GifFirstFrame | undefined {
  const tableSize = (flags: number) => (flags & 0x80 ? 3 << ((flags & 7) + 1) : 0);
  if (gif.length < 13) return undefined;
  let pos = 13 + tableSize(gif[10]);
  const global = gif.subarray(13, pos);
  let transparency: number | undefined;
  while (pos < gif.length) {
    if (gif[pos] === 0x21) {
      // extension: a graphic control extension (0xF9) carries the transparent index
      if (gif[pos + 1] === 0xf9 && gif[pos + 2] >= 4) transparency = gif[pos + 3] & 1 ? gif[pos + 6] : undefined;
      pos += 2;
      while (pos < gif.length && gif[pos] !== 0) pos += gif[pos] + 1;
      pos++;
    } else if (gif[pos] === 0x2c && pos + 10 <= gif.length) {
      const local = gif.subarray(pos + 10, pos + 10 + tableSize(gif[pos + 9]));
      const palette = local.length ? local : global;
      const at = (transparency ?? 0) * 3;
      if (at + 3 > palette.length) return undefined;
      return {
        fill: [palette[at], palette[at + 1], palette[at + 2]],
        left: gif.readUInt16LE(pos + 1),
        top: gif.readUInt16LE(pos + 3),
        width: gif.readUInt16LE(pos + 5),
        height: gif.readUInt16LE(pos + 7),
      };
    } else {
      return undefined;
    }
  }
  return undefined;
}

/** PIL converts 16-bit grayscale ("I;16") to RGB by clipping at 255, not by scaling. */
async function clipped16BitGray(image: Sharp): Promise<RgbImage> {
  const { data, info } = await image
    .pipelineColourspace("grey16")
    .toColourspace("grey16")
    .extractChannel(0)
    .raw({ depth: "ushort" })
    .toBuffer({ resolveWithObject: true });
  const values = new Uint16Array(data.buffer, data.byteOffset, data.length / 2);
  const out = new Uint8Array(values.length * 3);
  for (let i = 0; i < values.length; i++) out.fill(Math.min(255, values[i]), i * 3, i * 3 + 3);
  return { pixels: out, width: info.width, height: info.height };
}

/** PIL unpacks 16-bit RGB, RGBA and gray + alpha ("RGB;16B", "LA;16B", ...) to their high byte. */
async function highByte16Bit(image: Sharp, meta: Metadata): Promise<RgbImage> {
  const gray = meta.space === "grey16" || meta.space === "b-w";
  const { data, info } = await image
    .removeAlpha()
    .toColourspace(gray ? "grey16" : "rgb16")
    .raw({ depth: "ushort" })
    .toBuffer({ resolveWithObject: true });
  const values = new Uint16Array(data.buffer, data.byteOffset, data.length / 2);
  const n = info.width * info.height;
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) out[i * 3 + c] = values[i * info.channels + (info.channels >= 3 ? c : 0)] >>> 8;
  }
  return { pixels: out, width: info.width, height: info.height };
}

/** A 16-bit gray PNG with a tRNS colour key: libpng adds alpha, PIL keeps "I;16" (clipped). */
function isGray16WithColourKey(input: Buffer): boolean {
  return input.length > 26 && input.readUInt32BE(0) === 0x89504e47 && input[24] === 16 && input[25] === 0;
}

/**
 * The orientation PIL's exif_transpose applies (Image.getexif): the EXIF Orientation tag, else
 * `tiff:Orientation` in the XMP packet (PIL's regular expression). PNGs are read chunk by chunk
 * here, since PIL also takes eXIf and text chunks that follow the image data, and ImageMagick's
 * "Raw profile type exif" text chunk, where sharp sees neither.
 */
function pilOrientation(input: Buffer, meta: Metadata): number {
  if (meta.format === "png") return pngOrientation(input);
  // libvips reports 1 for a TIFF without the tag; PIL then looks at the XMP
  const tagged = meta.format === "tiff" ? exifOrientation(input) : meta.orientation;
  if (tagged !== undefined) return tagged;
  return xmpOrientation(meta.xmp) ?? 1;
}

function xmpOrientation(xmp: Buffer | string | undefined): number | undefined {
  const match = xmp && /tiff:Orientation(="|>)([0-9])/.exec(typeof xmp === "string" ? xmp : xmp.toString("latin1"));
  return match ? Number(match[2]) : undefined;
}

/** PngImagePlugin's view: the last eXIf chunk, else the raw EXIF profile text; then XMP. */
function pngOrientation(png: Buffer): number {
  let exif: Buffer | undefined;
  const text = new Map<string, string>();
  for (let pos = 8; pos + 12 <= png.length; ) {
    const length = png.readUInt32BE(pos);
    const type = png.toString("latin1", pos + 4, pos + 8);
    const data = png.subarray(pos + 8, Math.min(png.length, pos + 8 + length));
    pos += 12 + length;
    if (type === "IEND") break;
    if (type === "eXIf")
      exif = Buffer.concat([Buffer.from("Exif\0\0", "latin1"), data]); // PIL prepends the header
    else if (type === "tEXt" || type === "zTXt" || type === "iTXt") {
      const entry = pngText(type, data);
      if (entry) text.set(entry[0], entry[1]);
    }
  }
  const raw = text.get("Raw profile type exif");
  if (!exif && raw !== undefined) exif = Buffer.from(raw.split("\n").slice(3).join(""), "hex");
  return (exif && exifOrientation(exif)) ?? xmpOrientation(text.get("XML:com.adobe.xmp")) ?? 1;
}

/** The text chunks orientation can come from; others (often large, compressed) are not decoded. */
const ORIENTATION_KEYWORDS = new Set(["Raw profile type exif", "XML:com.adobe.xmp"]);

function pngText(type: string, data: Buffer): [string, string] | undefined {
  const nul = data.indexOf(0);
  if (nul < 0) return undefined;
  const keyword = data.toString("latin1", 0, nul);
  if (!ORIENTATION_KEYWORDS.has(keyword)) return undefined;
  try {
    if (type === "tEXt") return [keyword, data.toString("latin1", nul + 1)];
    if (type === "zTXt") return [keyword, inflateSync(data.subarray(nul + 2)).toString("latin1")];
    // iTXt: compression flag, method, language tag, translated keyword, then UTF-8 text
    const compressed = data[nul + 1] === 1;
    const language = data.indexOf(0, nul + 3);
    const translated = language < 0 ? -1 : data.indexOf(0, language + 1);
    if (translated < 0) return undefined;
    const body = data.subarray(translated + 1);
    return [keyword, (compressed ? inflateSync(body) : body).toString("utf8")];
  } catch {
    return undefined; // a corrupt compressed chunk: PIL skips it too
  }
}

/** The Orientation tag (0x0112) of IFD0 in an EXIF block ("Exif\0\0" header optional) or a TIFF. */
function exifOrientation(exif: Buffer): number | undefined {
  const data = exif.toString("latin1", 0, 6) === "Exif\0\0" ? exif.subarray(6) : exif;
  if (data.length < 8) return undefined;
  const order = data.toString("latin1", 0, 2);
  if (order !== "II" && order !== "MM") return undefined;
  const le = order === "II";
  const u16 = (at: number) => (le ? data.readUInt16LE(at) : data.readUInt16BE(at));
  const u32 = (at: number) => (le ? data.readUInt32LE(at) : data.readUInt32BE(at));
  if (u16(2) !== 42) return undefined; // not classic TIFF (BigTIFF is 43)
  const ifd = u32(4);
  if (ifd + 2 > data.length) return undefined;
  for (let i = 0, n = u16(ifd); i < n; i++) {
    const entry = ifd + 2 + i * 12;
    if (entry + 12 > data.length) break;
    if (u16(entry) !== 0x0112) continue;
    const type = u16(entry + 2);
    return type === 3 ? u16(entry + 8) : type === 4 ? u32(entry + 8) : undefined;
  }
  return undefined;
}

/** PIL's transposes for EXIF orientations 2-8 (1 and unknown values leave the image as it is). */
export function orient(image: RgbImage, orientation: number): RgbImage {
  if (orientation < 2 || orientation > 8 || !Number.isInteger(orientation)) return image;
  const { pixels, width: w, height: h } = image;
  const swap = orientation >= 5;
  const ow = swap ? h : w;
  const oh = swap ? w : h;
  // Output pixel (x, y) reads source pixel base + x * dx + y * dy (in pixels).
  const last = (h - 1) * w;
  const [base, dx, dy] = {
    2: [w - 1, -1, w], // FLIP_LEFT_RIGHT
    3: [last + w - 1, -1, -w], // ROTATE_180
    4: [last, 1, -w], // FLIP_TOP_BOTTOM
    5: [0, w, 1], // TRANSPOSE
    6: [last, -w, 1], // ROTATE_270 (90 degrees clockwise)
    7: [last + w - 1, -w, -1], // TRANSVERSE
    8: [w - 1, w, -1], // ROTATE_90 (90 degrees counter-clockwise)
  }[orientation]!;
  const out = new Uint8Array(pixels.length);
  let o = 0;
  for (let y = 0; y < oh; y++) {
    let s = (base + y * dy) * 3;
    const step = dx * 3;
    for (let x = 0; x < ow; x++, s += step, o += 3) {
      out[o] = pixels[s];
      out[o + 1] = pixels[s + 1];
      out[o + 2] = pixels[s + 2];
    }
  }
  return { pixels: out, width: ow, height: oh };
}

/** Formats PIL reads that sharp cannot, recognised by their signature for a clearer message. */
function unsupportedFormat(input: Buffer): string | undefined {
  const ascii = input.toString("latin1", 0, 12);
  const u32 = input.length >= 4 ? input.readUInt32BE(0) : -1;
  const formats: [boolean, string][] = [
    [/^P[1-7]\s/.test(ascii), "PNM (PBM/PGM/PPM)"],
    [u32 === 0x00000100 && input.length > 6, "ICO"],
    [ascii.startsWith("8BPS"), "PSD"],
    [ascii.startsWith("qoif"), "QOI"],
    [ascii.startsWith("\0\0\0\x0cjP  ") || u32 === 0xff4fff51, "JPEG 2000"],
    [ascii.startsWith("DDS "), "DDS"],
    [isAvifSequence(input), "AVIF sequence (without a still image)"],
  ];
  const found = formats.find(([matches]) => matches);
  return found && `${found[1]} images are not supported by emb (PIL reads them; convert to PNG first)`;
}

/** libvips says "Unknown error" for some damaged files (a PNG header checksum): say what it means. */
function damageOf(err: unknown): string {
  const message = messageOf(err);
  const unhelpful = message.trim() === "" || /^unknown error$/i.test(message.trim());
  return unhelpful ? "the file is damaged (corrupt or truncated data); export or download it again" : message;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message.split("\n")[0] : String(err);
}
