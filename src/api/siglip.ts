/**
 * Embeddings for Node programs: open a model once (SigLIP, SigLIP 2, CLIP or DINOv2), embed
 * images (paths or bytes) and texts, get one Float32Array per input, equal to what
 * `emb embed image` / `emb embed text` write. `SiglipEmbedder` is the name it first had.
 */
import { ModelCapabilityError } from "../models/families.js";
import { openModel } from "../models/registry.js";
import type { EmbedderInfo, ImageEmbedder, TextEmbedder } from "../models/types.js";
import { l2normalize } from "../runtime/vectors.js";
import { prepareImage, type DecodeSettings, type ImageInput } from "./images.js";
import { registryOptions, type ModelOptions } from "../models/options.js";

export interface EmbedOptions {
  /** Scale every vector to unit length (cosine similarity is then a dot product). Default false. */
  normalize?: boolean;
  /** Inputs run through the model at once (default 16). */
  batchSize?: number;
}

export type EmbedImageOptions = EmbedOptions & DecodeSettings;

const DEFAULT_BATCH_SIZE = 16;

function checkBatchSize(batchSize: number): number {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a whole number >= 1, not ${batchSize}`);
  return batchSize;
}

async function inBatches<T>(items: T[], batchSize: number, run: (batch: T[], offset: number) => Promise<Float32Array[]>): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (let i = 0; i < items.length; i += batchSize) out.push(...(await run(items.slice(i, i + batchSize), i)));
  return out;
}

export class Embedder {
  private constructor(
    private readonly image: ImageEmbedder,
    /** Absent for an image-only model (DINOv2). */
    private readonly text: TextEmbedder | undefined,
  ) {}

  /**
   * Opens the model's towers from a local folder or a hub repository (downloaded into the
   * Hugging Face cache on first use); the default is onnx-community/siglip-so400m-patch14-384-ONNX,
   * and `model` also takes the short names siglip, siglip2, clip and dinov2.
   */
  static async open(options: ModelOptions = {}): Promise<Embedder> {
    const image = await openModel("image-embedder", registryOptions("image-embedder", options));
    try {
      return new Embedder(image.model, await openText(options));
    } catch (error) {
      await image.model.release();
      throw error;
    }
  }

  /** The embedding size (1152 for so400m). */
  get dim(): number {
    return this.image.dim;
  }

  /** Which graphs run, their dtype and output, and the execution provider; `text` is absent for an image-only model. */
  get info(): { image: EmbedderInfo; text?: EmbedderInfo & { length: number } } {
    return { image: this.image.info, text: this.text?.info };
  }

  /**
   * One vector per image, in input order. Images are decoded as PIL decodes them and resized as
   * the model's processor does (PIL's filter; CLIP and DINOv2 also center crop). An image that
   * cannot be read or decoded rejects with an ImageInputError naming it.
   */
  async embedImages(images: ImageInput[], options: EmbedImageOptions = {}): Promise<Float32Array[]> {
    const batchSize = checkBatchSize(options.batchSize ?? DEFAULT_BATCH_SIZE);
    const normalize = (options.normalize ?? false) && !this.image.info.normalizedByModel;
    const vectors = await inBatches(images, batchSize, async (batch, offset) => {
      const prepared = await Promise.all(batch.map((input, i) => prepareImage(input, offset + i, this.image.preprocessing, options)));
      return this.image.embed(prepared.map((p) => p.pixels));
    });
    return normalize ? vectors.map(l2normalize) : vectors;
  }

  /**
   * One vector per text, in input order, tokenised exactly as the model's Python tokenizer
   * (padding="max_length"); texts longer than the model's length (SigLIP 64, CLIP 77 tokens) are
   * truncated. An image-only model rejects with a ModelCapabilityError.
   */
  async embedTexts(texts: string[], options: EmbedOptions = {}): Promise<Float32Array[]> {
    const text = this.text;
    if (!text) throw new ModelCapabilityError("this model is image-only: it has no text tower to embed texts with (use SigLIP, SigLIP 2 or CLIP)");
    const batchSize = checkBatchSize(options.batchSize ?? DEFAULT_BATCH_SIZE);
    texts.forEach((text, i) => {
      if (typeof text !== "string") throw new TypeError(`text #${i} is a ${typeof text}, not a string`);
    });
    const normalize = (options.normalize ?? false) && !text.info.normalizedByModel;
    const vectors = await inBatches(texts, batchSize, (batch) => text.embedTexts(batch));
    return normalize ? vectors.map(l2normalize) : vectors;
  }

  /** Frees the onnxruntime sessions. */
  async close(): Promise<void> {
    await Promise.all([this.image.release(), this.text?.release()]);
  }
}

/** The model's text tower; undefined for an image-only model. */
async function openText(options: ModelOptions): Promise<TextEmbedder | undefined> {
  try {
    return (await openModel("text-embedder", registryOptions("text-embedder", options))).model;
  } catch (error) {
    if (error instanceof ModelCapabilityError) return undefined;
    throw error;
  }
}

/** The name this class first had; the same class. */
export const SiglipEmbedder = Embedder;
export type SiglipEmbedder = Embedder;
