/**
 * The embedding families emb runs and how a model is recognised as one: its config.json's
 * `model_type`, as transformers' Auto classes read it. Each family is an adapter pair (image
 * tower, text tower where it has one) and the way its image-text logits become probabilities.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { SessionOptions } from "../runtime/session.js";
import { ModelLayoutError } from "./common/layout.js";
import { towerFiles } from "./common/towers.js";
import type { DtypeSpec } from "./common/variants.js";
import { clipImageFiles, loadClipImage } from "./clip/image.js";
import { clipTextFiles, loadClipText } from "./clip/text.js";
import { DINOV2_POOLINGS, type Dinov2Pooling, dinov2ImageFiles, loadDinov2Image } from "./dinov2/image.js";
import { DEFAULT_SIGLIP_MODEL, SiglipImageModel, siglipImageFiles } from "./siglip/image.js";
import { SiglipTextModel, siglipTextFiles, type TextOptions } from "./siglip/text.js";
import { NaflexTower } from "./siglip2/naflex-tower.js";
import type { ImageEmbedder, TextEmbedder } from "./types.js";

/** The model cannot do what the command or a flag asks of it (text from an image-only model, --pooling on SigLIP). */
export class ModelCapabilityError extends ModelLayoutError {}

/** How image embeddings are made, where the family offers a choice. */
export interface ImageOptions {
  /** DINOv2: the CLS token ("cls", the default) or the mean of the patch tokens ("mean"). */
  pooling?: Dinov2Pooling;
  /** SigLIP 2 NaFlex: the most patches an image becomes (default: the processor config's max_num_patches). */
  maxNumPatches?: number;
}

export { DINOV2_POOLINGS as POOLINGS };

interface Tower<M, O> {
  files(spec: DtypeSpec): (files: string[]) => string[];
  load(dir: string, spec: DtypeSpec, session: SessionOptions, options: O): Promise<M>;
}

export interface EmbeddingFamily {
  /** The family's name in messages. */
  name: string;
  image: Tower<ImageEmbedder, ImageOptions>;
  /**
   * Absent for image-only families (DINOv2). `probabilities`: how scaled cosines become label
   * probabilities in zero-shot classification: SigLIP's sigmoid(scale * cos + bias) per label,
   * or CLIP's softmax over the labels.
   */
  text?: Tower<TextEmbedder, TextOptions> & { probabilities: "sigmoid" | "softmax" };
}

/** --pooling is DINOv2's alone (the other families' graphs pool inside), --max-num-patches NaFlex's. */
function onlyOwnOptions(family: string, options: ImageOptions, own: keyof ImageOptions | undefined): void {
  if (options.pooling !== undefined && own !== "pooling") {
    throw new ModelCapabilityError(`--pooling ${options.pooling} applies to DINOv2 only; ${family} pools inside its graph (leave --pooling out)`);
  }
  if (options.maxNumPatches !== undefined && own !== "maxNumPatches") {
    throw new ModelCapabilityError(
      `--max-num-patches ${options.maxNumPatches} applies to SigLIP 2 NaFlex only; ${family} resizes every image to one size (leave --max-num-patches out)`,
    );
  }
}

const SIGLIP: EmbeddingFamily = {
  name: "SigLIP",
  image: {
    files: siglipImageFiles,
    load: (dir, spec, session, options) => {
      onlyOwnOptions("SigLIP", options, undefined);
      return SiglipImageModel.load(dir, spec, session);
    },
  },
  text: { files: siglipTextFiles, load: (dir, spec, session, text) => SiglipTextModel.load(dir, spec, session, text), probabilities: "sigmoid" },
};

const CLIP: EmbeddingFamily = {
  name: "CLIP",
  image: {
    files: clipImageFiles,
    load: (dir, spec, session, options) => {
      onlyOwnOptions("CLIP", options, undefined);
      return loadClipImage(dir, spec, session);
    },
  },
  text: { files: clipTextFiles, load: (dir, spec, session) => loadClipText(dir, spec, session), probabilities: "softmax" },
};

const DINOV2: EmbeddingFamily = {
  name: "DINOv2",
  image: {
    files: dinov2ImageFiles,
    load: (dir, spec, session, options) => {
      onlyOwnOptions("DINOv2", options, "pooling");
      return loadDinov2Image(dir, spec, session, options.pooling);
    },
  },
};

const SIGLIP2_NAFLEX: EmbeddingFamily = {
  name: "SigLIP 2 NaFlex",
  image: {
    files: (spec) => (files) => towerFiles(files, "vision", spec, ["preprocessor_config.json"], "SigLIP 2"),
    load: (dir, spec, session, options) => {
      onlyOwnOptions("SigLIP 2 NaFlex", options, "maxNumPatches");
      return NaflexTower.load(dir, spec, session, options.maxNumPatches);
    },
  },
  // the text tower is SigLIP's, with Gemma's tokenizer
  text: SIGLIP.text,
};

/** config.json's model_type to its family; SigLIP 2's fixed-resolution checkpoints are SigLIP models, NaFlex ones siglip2. */
const BY_MODEL_TYPE: Record<string, EmbeddingFamily> = {
  siglip: SIGLIP,
  clip: CLIP,
  dinov2: DINOV2,
  dinov2_with_registers: DINOV2,
  siglip2: SIGLIP2_NAFLEX,
};

/**
 * The family of the model in `dir`, from its config.json. A folder without one is taken as
 * SigLIP (whose loader then names the missing file), as before families were told apart.
 */
export function embeddingFamily(dir: string, model: string): EmbeddingFamily {
  const path = join(dir, "config.json");
  if (!existsSync(path)) return SIGLIP;
  let modelType: unknown;
  try {
    modelType = JSON.parse(readFileSync(path, "utf8")).model_type;
  } catch (error) {
    throw new ModelLayoutError(`${model}: config.json is not readable JSON (${(error as Error).message.split("\n")[0]})`);
  }
  const family = typeof modelType === "string" ? BY_MODEL_TYPE[modelType] : undefined;
  if (family) return family;
  throw new ModelLayoutError(
    `${model}: config.json names model_type ${JSON.stringify(modelType)}; emb embeds with ${Object.keys(BY_MODEL_TYPE).join(", ")} models (SigLIP, SigLIP 2 fixed resolution and NaFlex, CLIP, DINOv2)`,
  );
}

/** Short names for each family's default repository: `--model clip`. A folder of that name wins. */
export const MODEL_ALIASES: Record<string, string> = {
  siglip: DEFAULT_SIGLIP_MODEL,
  siglip2: "onnx-community/siglip2-base-patch16-224-ONNX",
  clip: "Xenova/clip-vit-base-patch32",
  dinov2: "onnx-community/dinov2-small",
};

export function expandAlias(model: string): string {
  return MODEL_ALIASES[model] !== undefined && !existsSync(model) ? MODEL_ALIASES[model] : model;
}
