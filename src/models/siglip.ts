/**
 * SigLIP image adapter: which files of a SigLIP export to use, how to preprocess for it, and
 * how to run a batch. Both hub layouts work: the split `onnx/vision_model.onnx` (pooler_output,
 * not normalised) and the combined `onnx/model.onnx` (image_embeds, L2-normalised), which is
 * fed an empty text batch so only the vision tower runs.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ModelSession, type SessionOptions } from "../runtime/session.js";
import type { ImagePreprocessing } from "../pipeline/normalize.js";
import { readManifest } from "./manifest.js";
import { ModelLayoutError, readPreprocessing } from "./preprocessing.js";
import { availableDtypes, DTYPE_SUFFIX, graphWithWeights, type Dtype } from "./variants.js";

/** The default model: its hub id comes from the manifest in models/. */
export const DEFAULT_SIGLIP_MODEL: string = readManifest("siglip-so400m-patch14-384").hubId;

/** A graph of a SigLIP export: its file stem, the output to read, whether that is normalised. */
export interface SiglipGraph {
  stem: string;
  output: string;
  normalized: boolean;
}

const VISION_GRAPHS: SiglipGraph[] = [
  { stem: "onnx/vision_model", output: "pooler_output", normalized: false },
  { stem: "onnx/model", output: "image_embeds", normalized: true },
];

export { ModelLayoutError };

/** Picks the first of `graphs` present for `dtype`; the error lists what the model does have. */
export function chooseGraph(files: string[], dtype: Dtype, graphs: SiglipGraph[], tower: string): { graph: SiglipGraph; file: string } {
  for (const graph of graphs) {
    const file = `${graph.stem}${DTYPE_SUFFIX[dtype]}.onnx`;
    if (files.includes(file)) return { graph, file };
  }
  const variants = graphs.flatMap((g) => availableDtypes(files, g.stem).map((d) => `${d} (${g.stem}${DTYPE_SUFFIX[d]}.onnx)`));
  const looked = graphs.map((g) => `${g.stem}${DTYPE_SUFFIX[dtype]}.onnx`).join(" or ");
  throw new ModelLayoutError(
    `no SigLIP ${tower} graph for --dtype ${dtype}: looked for ${looked}; ` +
      (variants.length > 0 ? `this model has: ${variants.join(", ")}` : "this model has no SigLIP ONNX graph under onnx/"),
  );
}

/** The graph files of a model folder, as paths relative to it. */
export function listedFiles(dir: string): string[] {
  const onnxDir = join(dir, "onnx");
  return existsSync(onnxDir) ? readdirSync(onnxDir).map((f) => `onnx/${f}`) : [];
}

/** The files `emb embed image` needs from a SigLIP repository. */
export function siglipImageFiles(dtype: Dtype): (files: string[]) => string[] {
  return (files) => {
    const { file } = chooseGraph(files, dtype, VISION_GRAPHS, "vision");
    return ["config.json", "preprocessor_config.json", ...graphWithWeights(files, file)];
  };
}

export interface SiglipImageModelInfo {
  graph: string;
  dtype: Dtype;
  output: string;
  normalizedByModel: boolean;
  dim: number;
  provider: string;
}

export class SiglipImageModel {
  private batchBuffer = new Float32Array(0);
  /** The combined graph also wants input_ids: it gets an empty text batch. */
  private readonly feedsEmptyText: boolean;

  private constructor(
    private readonly session: ModelSession,
    readonly preprocessing: ImagePreprocessing,
    readonly info: SiglipImageModelInfo,
    private readonly textLength: number,
  ) {
    this.feedsEmptyText = session.inputs.some((i) => i.name === "input_ids");
  }

  static async load(dir: string, dtype: Dtype, options: SessionOptions): Promise<SiglipImageModel> {
    const files = listedFiles(dir);
    const { graph, file } = chooseGraph(files, dtype, VISION_GRAPHS, "vision");
    const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    const dim = config.vision_config?.hidden_size;
    if (!dim) throw new ModelLayoutError(`config.json in ${dir} has no vision_config.hidden_size`);
    const session = await ModelSession.open(join(dir, file), options);
    return new SiglipImageModel(
      session,
      readPreprocessing(dir),
      { graph: file, dtype, output: graph.output, normalizedByModel: graph.normalized, dim, provider: session.provider },
      config.text_config?.max_position_embeddings ?? 64,
    );
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
    const feeds: Parameters<ModelSession["run"]>[0] = {
      pixel_values: { type: "float32", data: batch, dims: [images.length, 3, height, width] },
    };
    if (this.feedsEmptyText) {
      feeds.input_ids = { type: "int64", data: new BigInt64Array(0), dims: [0, this.textLength] };
    }
    const out = (await this.session.run(feeds, [this.info.output]))[this.info.output];
    const rows: Float32Array[] = [];
    for (let i = 0; i < images.length; i++) rows.push(out.data.slice(i * this.dim, (i + 1) * this.dim) as Float32Array);
    return rows;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
