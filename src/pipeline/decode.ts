/**
 * Image decoding and resizing with sharp, matching how the Python reference loads images:
 * PIL, EXIF orientation applied, `convert("RGB")`, then the HF processor's bicubic resize.
 *
 * Two steps: sharp decodes to 8-bit RGB the way PIL's conversion does (CMYK by PIL's plain
 * formula, 16-bit grayscale clipped, alpha dropped); then resample.ts resizes with PIL's bicubic.
 */
import sharp, { type Metadata, type Sharp } from "sharp";
import { resizeBicubicRgb } from "./resample.js";

export interface ResizeSpec {
  width: number;
  height: number;
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

export async function decodeAndResize(input: Buffer, size: ResizeSpec, maxPixels = DEFAULT_MAX_PIXELS): Promise<DecodedImage> {
  if (input.length === 0) throw new ImageDecodeError("empty file (0 bytes)", "empty");
  const rgb = await decodeToRgb(input, maxPixels);
  // A copy into a plain Uint8Array: V8 reads it markedly faster than a view on sharp's buffer
  // (measured 6.4 ms against 10.4 ms per 500x375 resize).
  const source = new Uint8Array(rgb.data);
  return {
    pixels: resizeBicubicRgb(source, rgb.width, rgb.height, size.width, size.height),
    width: size.width,
    height: size.height,
    sourceWidth: rgb.width,
    sourceHeight: rgb.height,
  };
}

interface RawRgb {
  data: Buffer;
  width: number;
  height: number;
}

async function decodeToRgb(input: Buffer, maxPixels: number): Promise<RawRgb> {
  let meta: Metadata;
  try {
    meta = await sharp(input, { limitInputPixels: false }).metadata();
  } catch (err) {
    throw new ImageDecodeError(`not a readable image: ${messageOf(err)}`, "unreadable");
  }
  const pixels = (meta.width ?? 0) * (meta.height ?? 0);
  if (pixels > maxPixels) {
    throw new ImageDecodeError(
      `image has ${meta.width}x${meta.height} = ${pixels} pixels, over the limit of ${maxPixels} (decompression bomb guard; raise it with --max-pixels)`,
      "too-large",
    );
  }
  try {
    const image = sharp(input, { limitInputPixels: false, failOn: "error" }).rotate();
    if (meta.space === "cmyk") return await cmykToRgb(image);
    if (meta.depth === "ushort" && (meta.channels ?? 3) <= 2) return await clipped16BitGray(image);
    const { data, info } = await image.removeAlpha().toColourspace("srgb").raw().toBuffer({ resolveWithObject: true });
    return { data, width: info.width, height: info.height };
  } catch (err) {
    throw new ImageDecodeError(`could not decode image: ${messageOf(err)}`, "unreadable");
  }
}

/** PIL's CMYK -> RGB: each channel is 255 - min(255, C + K), no colour management. */
async function cmykToRgb(image: Sharp): Promise<RawRgb> {
  const { data, info } = await image.pipelineColourspace("cmyk").toColourspace("cmyk").raw().toBuffer({ resolveWithObject: true });
  const n = info.width * info.height;
  const out = Buffer.alloc(n * 3);
  for (let i = 0; i < n; i++) {
    const k = data[i * info.channels + 3];
    for (let c = 0; c < 3; c++) out[i * 3 + c] = 255 - Math.min(255, data[i * info.channels + c] + k);
  }
  return { data: out, width: info.width, height: info.height };
}

/** PIL converts 16-bit grayscale ("I;16") to RGB by clipping at 255, not by scaling. */
async function clipped16BitGray(image: Sharp): Promise<RawRgb> {
  const { data, info } = await image
    .pipelineColourspace("grey16")
    .toColourspace("grey16")
    .extractChannel(0)
    .raw({ depth: "ushort" })
    .toBuffer({ resolveWithObject: true });
  const values = new Uint16Array(data.buffer, data.byteOffset, data.length / 2);
  const out = Buffer.alloc(values.length * 3);
  for (let i = 0; i < values.length; i++) out.fill(Math.min(255, values[i]), i * 3, i * 3 + 3);
  return { data: out, width: info.width, height: info.height };
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message.split("\n")[0] : String(err);
}
