/**
 * SigLIP image adapter: which files of a SigLIP export to use, how to preprocess for it, and
 * how to run a batch. Every public layout works (common/towers.ts); with the combined graph,
 * the text input gets an empty batch so only the vision tower runs.
 */
import { join } from "node:path";
import { ModelSession, type SessionOptions } from "../../runtime/session.js";
import { emptyTextFeeds, ImageTower } from "../common/image-tower.js";
import { readModelConfig } from "../common/model-config.js";
import { modelFiles, ModelLayoutError } from "../common/layout.js";
import { readManifest } from "../common/manifest.js";
import { readPreprocessing } from "../common/preprocessing.js";
import { chooseTowerGraph, towerFiles, towerOutput } from "../common/towers.js";
import type { DtypeSpec } from "../common/variants.js";

/** The default model: its hub id comes from the manifest in models/. */
export const DEFAULT_SIGLIP_MODEL: string = readManifest("siglip-so400m-patch14-384").hubId;

/** The files `emb embed image` needs from a SigLIP repository. */
export function siglipImageFiles(spec: DtypeSpec): (files: string[]) => string[] {
  return (files) => towerFiles(files, "vision", spec, ["preprocessor_config.json"]);
}

/** SigLIP's image tower (SigLIP 2 fixed resolution too): pooler_output, or a combined graph's image_embeds. */
export class SiglipImageModel extends ImageTower {
  static async load(dir: string, spec: DtypeSpec, options: SessionOptions): Promise<SiglipImageModel> {
    const { file, dtype } = chooseTowerGraph(modelFiles(dir), "vision", spec);
    const config = readModelConfig(dir, "SigLIP");
    const dim = config.vision_config?.hidden_size;
    if (!dim) throw new ModelLayoutError(`config.json in ${dir} has no vision_config.hidden_size`);
    const textLength = config.text_config?.max_position_embeddings ?? 64;
    const session = await ModelSession.open(join(dir, file), options);
    const { output, normalized } = towerOutput(session.outputNames, "vision", file);
    return new SiglipImageModel({
      session,
      preprocessing: readPreprocessing(dir),
      info: { graph: file, dtype, output, normalizedByModel: normalized, dim, provider: session.provider },
      otherFeeds: emptyTextFeeds(session, textLength),
    });
  }
}
