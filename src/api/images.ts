/** Images given to the API, as file paths or encoded bytes, decoded and normalised as the pipelines do. */
import { decodeAndResize, type ColorManagement } from "../image/decode.js";
import { modelPixels, type ImagePreprocessing } from "../image/normalize.js";
import { readImageFile } from "../image/read-image-file.js";

/** A path to an image file, or the file's bytes (JPEG, PNG, WebP, GIF, TIFF, BMP, AVIF). */
export type ImageInput = string | Uint8Array;

export interface DecodeSettings {
  /** Images with more pixels are refused (default 178,956,970, PIL's decompression-bomb limit). */
  maxPixels?: number;
  /** Embedded ICC profiles: ignored ("none", the default, as PIL) or applied ("srgb"). */
  colorManagement?: ColorManagement;
  /** Image files larger than this many bytes are refused (default 512,000,000); only regular files are read. */
  maxFileSize?: number;
}

/** Raised when an input cannot be read or decoded; `input` says which one. */
export class ImageInputError extends Error {
  constructor(
    readonly input: string,
    message: string,
  ) {
    super(`${input}: ${message}`);
    this.name = "ImageInputError";
  }
}

export interface PreparedImage {
  /** CHW float32, as the model takes it. */
  pixels: Float32Array;
  /** The image's size after EXIF orientation. */
  width: number;
  height: number;
}

/** The name an input goes by in errors: its path, or its position for bytes. */
export function inputName(input: ImageInput, index: number): string {
  return typeof input === "string" ? input : `image #${index} (${input.byteLength} bytes)`;
}

export async function prepareImage(input: ImageInput, index: number, preprocessing: ImagePreprocessing, decode: DecodeSettings = {}): Promise<PreparedImage> {
  const name = inputName(input, index);
  if (typeof input !== "string" && !(input instanceof Uint8Array)) {
    throw new TypeError(`image #${index} is a ${typeof input}: give a file path (string) or the file's bytes (Buffer or Uint8Array)`);
  }
  try {
    const bytes = typeof input === "string" ? await readImageFile(input, decode.maxFileSize) : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    const decoded = await decodeAndResize(bytes, preprocessing, decode);
    return { pixels: modelPixels(decoded, preprocessing), width: decoded.sourceWidth, height: decoded.sourceHeight };
  } catch (error) {
    throw new ImageInputError(name, (error as Error).message);
  }
}
