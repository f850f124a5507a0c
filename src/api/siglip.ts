/**
 * SigLIP embeddings for Node programs: open a model once, embed images (paths or bytes) and
 * texts, get one Float32Array per input, equal to what `emb embed image` / `emb embed text` write.
 */
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

export class SiglipEmbedder {
  private constructor(
    private readonly image: ImageEmbedder,
    private readonly text: TextEmbedder,
  ) {}

  /**
   * Opens both SigLIP towers from a local folder or a hub repository (downloaded into the
   * Hugging Face cache on first use); the default is onnx-community/siglip-so400m-patch14-384-ONNX.
   */
  static async open(options: ModelOptions = {}): Promise<SiglipEmbedder> {
    const image = await openModel("image-embedder", registryOptions("image-embedder", options));
    try {
      const text = await openModel("text-embedder", registryOptions("text-embedder", options));
      return new SiglipEmbedder(image.model, text.model);
    } catch (error) {
      await image.model.release();
      throw error;
    }
  }

  /** The embedding size (1152 for so400m). */
  get dim(): number {
    return this.image.dim;
  }

  /** Which graphs run, their dtype and output, and the execution provider. */
  get info(): { image: EmbedderInfo; text: EmbedderInfo & { length: number } } {
    return { image: this.image.info, text: this.text.info };
  }

  /**
   * One vector per image, in input order. Images are decoded as PIL decodes them and resized
   * with PIL's bicubic. An image that cannot be read or decoded rejects with an ImageInputError
   * naming it.
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
   * One vector per text, in input order, tokenised exactly as the Python SiglipTokenizer
   * (padding="max_length"); texts longer than the model's 64 tokens are truncated.
   */
  async embedTexts(texts: string[], options: EmbedOptions = {}): Promise<Float32Array[]> {
    const batchSize = checkBatchSize(options.batchSize ?? DEFAULT_BATCH_SIZE);
    texts.forEach((text, i) => {
      if (typeof text !== "string") throw new TypeError(`text #${i} is a ${typeof text}, not a string`);
    });
    const normalize = (options.normalize ?? false) && !this.text.info.normalizedByModel;
    const vectors = await inBatches(texts, batchSize, (batch) => this.text.embedTexts(batch));
    return normalize ? vectors.map(l2normalize) : vectors;
  }

  /** Frees the onnxruntime sessions. */
  async close(): Promise<void> {
    await Promise.all([this.image.release(), this.text.release()]);
  }
}
