/**
 * SigLIP 2 NaFlex image adapter: the vision tower of tools/export/naflex.py's export
 * (`pixel_values` [batch, patches, 3 x 16 x 16], `pixel_attention_mask`, `spatial_shapes` ->
 * `pooler_output`), fed images prepared as packed patches (image/patches.ts). Each image keeps
 * its aspect ratio; a batch is padded to its longest image, not to the patch budget, and the mask
 * says which patches are real, so padding never changes an image's embedding.
 */
import { join } from "node:path";
import type { ImagePreprocessing } from "../../image/normalize.js";
import { unpackPatches } from "../../image/patches.js";
import { ModelSession, type SessionOptions } from "../../runtime/session.js";
import { ModelLayoutError, modelFiles } from "../common/layout.js";
import { readModelConfig } from "../common/model-config.js";
import { chooseTowerGraph } from "../common/towers.js";
import type { DtypeSpec } from "../common/variants.js";
import type { ImageEmbedder } from "../types.js";
import type { ImageTowerInfo } from "../common/image-tower.js";
import { readNaflexPreprocessing } from "./naflex.js";

const INPUTS = ["pixel_values", "pixel_attention_mask", "spatial_shapes"];

export class NaflexTower implements ImageEmbedder {
  private constructor(
    private readonly session: ModelSession,
    readonly preprocessing: ImagePreprocessing,
    readonly info: ImageTowerInfo,
  ) {}

  /** `maxPatches` overrides the processor config's max_num_patches (--max-num-patches). */
  static async load(dir: string, spec: DtypeSpec, options: SessionOptions, maxPatches?: number): Promise<NaflexTower> {
    const { file, dtype } = chooseTowerGraph(modelFiles(dir), "vision", spec, "SigLIP 2");
    const dim = readModelConfig(dir, "SigLIP 2").vision_config?.hidden_size;
    if (!dim) throw new ModelLayoutError(`config.json in ${dir} has no vision_config.hidden_size`);
    const preprocessing = readNaflexPreprocessing(dir, maxPatches);
    const session = await ModelSession.open(join(dir, file), options);
    const missing = INPUTS.filter((name) => !session.inputs.some((i) => i.name === name));
    if (missing.length > 0 || !session.outputNames.includes("pooler_output")) {
      throw new ModelLayoutError(
        `${file} is not a NaFlex vision tower: it takes ${session.inputs.map((i) => i.name).join(", ")} and gives ${session.outputNames.join(", ")}; emb runs ${INPUTS.join(", ")} -> pooler_output, as tools/export/export.py writes it`,
      );
    }
    return new NaflexTower(session, preprocessing, { graph: file, dtype, output: "pooler_output", normalizedByModel: false, dim, provider: session.provider });
  }

  get dim(): number {
    return this.info.dim;
  }

  /** Embeds images prepared as packed patches; one row per image. */
  async embed(images: Float32Array[]): Promise<Float32Array[]> {
    const unpacked = images.map(unpackPatches);
    const patchLength = 3 * (this.preprocessing.patches?.size ?? 16) ** 2;
    const longest = Math.max(...unpacked.map((u) => u.gridH * u.gridW));
    const pixels = new Float32Array(images.length * longest * patchLength);
    const mask = new BigInt64Array(images.length * longest);
    const shapes = new BigInt64Array(images.length * 2);
    unpacked.forEach(({ gridH, gridW, patches }, i) => {
      pixels.set(patches, i * longest * patchLength);
      mask.fill(1n, i * longest, i * longest + gridH * gridW);
      shapes[2 * i] = BigInt(gridH);
      shapes[2 * i + 1] = BigInt(gridW);
    });
    const out = await this.session.run(
      {
        pixel_values: { type: "float32", data: pixels, dims: [images.length, longest, patchLength] },
        pixel_attention_mask: { type: "int64", data: mask, dims: [images.length, longest] },
        spatial_shapes: { type: "int64", data: shapes, dims: [images.length, 2] },
      },
      ["pooler_output"],
    );
    const data = out.pooler_output.data as Float32Array;
    return unpacked.map((_, i) => data.slice(i * this.dim, (i + 1) * this.dim));
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
