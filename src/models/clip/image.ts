/**
 * CLIP image adapter (openai/clip-vit-*, OpenCLIP checkpoints in transformers' layout): the
 * vision tower with its projection (`image_embeds`, what get_image_features returns; normalised
 * in a combined graph), preprocessed as CLIPImageProcessor does: shortest edge to 224 (or the
 * config's), bicubic, center crop, CLIP's mean and std with the processor's float32 roundings.
 */
import { join } from "node:path";
import type { ImagePreprocessing } from "../../image/normalize.js";
import { ModelSession, type SessionOptions } from "../../runtime/session.js";
import { emptyTextFeeds, ImageTower } from "../common/image-tower.js";
import { ModelLayoutError, modelFiles } from "../common/layout.js";
import { readModelConfig } from "../common/model-config.js";
import { shortestEdgePreprocessing } from "../common/shortest-edge.js";
import { chooseTowerGraph, type Tower, towerFiles } from "../common/towers.js";
import type { DtypeSpec } from "../common/variants.js";

/** The files `emb embed image` needs from a CLIP repository. */
export function clipImageFiles(spec: DtypeSpec): (files: string[]) => string[] {
  return (files) => towerFiles(files, "vision", spec, ["preprocessor_config.json"], "CLIP");
}

/** A CLIP tower's projected embedding: `image_embeds` / `text_embeds`, L2-normalised only by a combined graph. */
export function clipOutput(outputs: readonly string[], tower: Tower, file: string, combined: boolean): { output: string; normalized: boolean } {
  const output = tower === "vision" ? "image_embeds" : "text_embeds";
  if (outputs.includes(output)) return { output, normalized: combined };
  throw new ModelLayoutError(
    `${file} has no ${output} output (it has ${outputs.join(", ")}): emb reads CLIP's projected embedding, which transformers.js-style exports of CLIPVisionModelWithProjection / CLIPTextModelWithProjection give`,
  );
}

/** CLIP's projection size: config.projection_dim (transformers' default 512). */
export function clipDim(config: { projection_dim?: number }): number {
  return config.projection_dim ?? 512;
}

export async function loadClipImage(dir: string, spec: DtypeSpec, options: SessionOptions): Promise<ImageTower> {
  const { file, dtype, combined } = chooseTowerGraph(modelFiles(dir), "vision", spec, "CLIP");
  const config = readModelConfig(dir, "CLIP");
  const preprocessing: ImagePreprocessing = shortestEdgePreprocessing(dir);
  const session = await ModelSession.open(join(dir, file), options);
  const { output, normalized } = clipOutput(session.outputNames, "vision", file, combined);
  return new ImageTower({
    session,
    preprocessing,
    info: { graph: file, dtype, output, normalizedByModel: normalized, dim: clipDim(config), provider: session.provider },
    otherFeeds: emptyTextFeeds(session, config.text_config?.max_position_embeddings ?? 77),
  });
}
