/** A model folder's config.json (transformers' PretrainedConfig as saved), the fields emb reads. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ModelLayoutError } from "./layout.js";

export interface ModelConfig {
  model_type?: string;
  vision_config?: Record<string, number>;
  text_config?: Record<string, number>;
  /** CLIP: the size of both towers' projected embeddings. */
  projection_dim?: number;
  /** Image-only models (DINOv2) keep their sizes at the top level. */
  hidden_size?: number;
  /** DINOv2 with registers: tokens between the CLS token and the patch tokens. */
  num_register_tokens?: number;
}

/** The folder's config.json; a missing or unreadable one is named with the folder and the family that needs it. */
export function readModelConfig(dir: string, family: string): ModelConfig {
  try {
    return JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
  } catch (error) {
    throw new ModelLayoutError(
      `cannot read config.json in ${dir} (${(error as Error).message.split("\n")[0]}); a ${family} model folder needs it beside its graphs`,
    );
  }
}
