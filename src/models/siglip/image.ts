/**
 * SigLIP image adapter: which files of a SigLIP export to use, how to preprocess for it, and
 * how to run a batch. Every public layout works (siglip-graphs.ts); with the combined graph,
 * the text input gets an empty batch so only the vision tower runs.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ModelSession, type SessionOptions } from "../../runtime/session.js";
import type { ImagePreprocessing } from "../../image/normalize.js";
import { modelFiles, ModelLayoutError } from "../common/layout.js";
import { readManifest } from "../common/manifest.js";
import { readPreprocessing } from "../common/preprocessing.js";
import { chooseTowerGraph, towerFiles, towerOutput } from "../common/towers.js";
import type { Dtype, DtypeSpec } from "../common/variants.js";

/** The default model: its hub id comes from the manifest in models/. */
export const DEFAULT_SIGLIP_MODEL: string = readManifest("siglip-so400m-patch14-384").hubId;

/** The files `emb embed image` needs from a SigLIP repository. */
export function siglipImageFiles(spec: DtypeSpec): (files: string[]) => string[] {
  return (files) => towerFiles(files, "vision", spec, ["preprocessor_config.json"]);
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
  private readonly feedsEmptyMask: boolean;

  private constructor(
    private readonly session: ModelSession,
    readonly preprocessing: ImagePreprocessing,
    readonly info: SiglipImageModelInfo,
    private readonly textLength: number,
  ) {
    this.feedsEmptyText = session.inputs.some((i) => i.name === "input_ids");
    this.feedsEmptyMask = session.inputs.some((i) => i.name === "attention_mask");
  }

  static async load(dir: string, spec: DtypeSpec, options: SessionOptions): Promise<SiglipImageModel> {
    const { file, dtype } = chooseTowerGraph(modelFiles(dir), "vision", spec);
    const config = readConfig(dir);
    const dim = config.vision_config?.hidden_size;
    if (!dim) throw new ModelLayoutError(`config.json in ${dir} has no vision_config.hidden_size`);
    const session = await ModelSession.open(join(dir, file), options);
    const { output, normalized } = towerOutput(session.outputNames, "vision", file);
    return new SiglipImageModel(
      session,
      readPreprocessing(dir),
      { graph: file, dtype, output, normalizedByModel: normalized, dim, provider: session.provider },
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
      if (this.feedsEmptyMask) feeds.attention_mask = { type: "int64", data: new BigInt64Array(0), dims: [0, this.textLength] };
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

/** A SigLIP config.json; a missing one is named with the folder. */
export function readConfig(dir: string): { vision_config?: Record<string, number>; text_config?: Record<string, number> } {
  try {
    return JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
  } catch (error) {
    throw new ModelLayoutError(
      `cannot read config.json in ${dir} (${(error as Error).message.split("\n")[0]}); a SigLIP model folder needs it beside its graphs`,
    );
  }
}
