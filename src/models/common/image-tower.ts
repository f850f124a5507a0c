/**
 * An image tower: one ONNX graph from pixel_values to an embedding per image. The families differ
 * in which graph and output they read, how they preprocess and what else the graph wants fed
 * (a combined graph's empty text batch); the batching is the same for all of them.
 */
import type { ImagePreprocessing } from "../../image/normalize.js";
import type { ModelSession, Tensor } from "../../runtime/session.js";
import type { Dtype } from "./variants.js";

export interface ImageTowerInfo {
  graph: string;
  dtype: Dtype;
  output: string;
  normalizedByModel: boolean;
  dim: number;
  provider: string;
  /** DINOv2: which tokens make the embedding (the CLS token, or the mean of the patch tokens). */
  pooling?: "cls" | "mean";
}

export interface ImageTowerParts {
  session: ModelSession;
  preprocessing: ImagePreprocessing;
  info: ImageTowerInfo;
  /** What the graph wants besides pixel_values, for a batch of `n` (a combined graph's empty text). */
  otherFeeds?: () => Record<string, Tensor>;
  /** The embedding rows from the output tensor; default: row i of a (n, dim) output. */
  rows?: (output: Tensor, n: number) => Float32Array[];
}

export class ImageTower {
  private batchBuffer = new Float32Array(0);
  readonly preprocessing: ImagePreprocessing;
  readonly info: ImageTowerInfo;

  constructor(private readonly parts: ImageTowerParts) {
    this.preprocessing = parts.preprocessing;
    this.info = parts.info;
  }

  get dim(): number {
    return this.info.dim;
  }

  /** Embeds preprocessed images (CHW float32 each); one row per image. */
  async embed(images: Float32Array[]): Promise<Float32Array[]> {
    const { width, height } = this.preprocessing;
    const size = 3 * width * height;
    // One input buffer reused across batches (a batch runs at a time): allocating tens of MB per
    // batch made the garbage collector a visible cost.
    if (this.batchBuffer.length < images.length * size) this.batchBuffer = new Float32Array(images.length * size);
    const batch = this.batchBuffer.subarray(0, images.length * size);
    images.forEach((img, i) => batch.set(img, i * size));
    const feeds: Record<string, Tensor> = {
      pixel_values: { type: "float32", data: batch, dims: [images.length, 3, height, width] },
      ...this.parts.otherFeeds?.(),
    };
    const out = (await this.parts.session.run(feeds, [this.info.output]))[this.info.output];
    if (this.parts.rows) return this.parts.rows(out, images.length);
    const rows: Float32Array[] = [];
    for (let i = 0; i < images.length; i++) rows.push(out.data.slice(i * this.dim, (i + 1) * this.dim) as Float32Array);
    return rows;
  }

  async release(): Promise<void> {
    await this.parts.session.release();
  }
}

/** A combined graph also wants input_ids (and an attention_mask): it gets an empty text batch. */
export function emptyTextFeeds(session: ModelSession, textLength: number): (() => Record<string, Tensor>) | undefined {
  const names = session.inputs.map((i) => i.name).filter((n) => n === "input_ids" || n === "attention_mask");
  if (names.length === 0) return undefined;
  return () => Object.fromEntries(names.map((n) => [n, { type: "int64", data: new BigInt64Array(0), dims: [0, textLength] } as Tensor]));
}
