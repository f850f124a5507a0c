/**
 * What `emb serve` loads: `--model family[=dir|hub id]` values become the families' models and
 * their endpoints, each model with its own batcher settings (`--batcher-config [model=]file`).
 */
import type { BatcherOptions } from "../batching/batcher.js";
import { readBatcherConfig } from "../batching/config.js";
import { defaultModel, type Role } from "../models/registry.js";
import type { GenerationSettings } from "../generation/settings.js";
import type { ImageEmbedder, ImageToText, LoadedModel, TextEmbedder } from "../models/types.js";
import { renamed, type ServedEndpoint } from "./endpoint.js";
import { embedText, florence2, imageEmbedding, imageEmbeddingTower, siglipText, textTower, type ImagePreparation } from "./models.js";

/** The model families a server can load, the role each opens and the batcher each family's models use. */
export const FAMILIES = {
  siglip: { endpoints: ["siglip_text", "embed_text", "siglip_vision", "embed_image", "siglip"], batchers: ["siglip_text", "siglip_vision"] },
  florence2: { endpoints: ["florence2"], batchers: ["florence2"] },
} as const;
export type Family = keyof typeof FAMILIES;
const FAMILY_NAMES = Object.keys(FAMILIES) as Family[];

/** Batchers, by the name of the model whose batches they form (siglip_text also batches embed_text's rows). */
export type BatcherName = "siglip_text" | "siglip_vision" | "florence2";
const BATCHER_NAMES: BatcherName[] = ["siglip_text", "siglip_vision", "florence2"];

/** Largest batch when nothing says otherwise: kept small enough for a CPU and a laptop's memory. */
const DEFAULT_BATCH: Record<BatcherName, number> = { siglip_text: 32, siglip_vision: 16, florence2: 4 };

export class ServeSetupError extends Error {}

/** `--model siglip`, `--model siglip=./dir`, `--model florence2=onnx-community/Florence-2-base-ft`. */
export function parseModelSpecs(values: string[]): Map<Family, string> {
  const specs = new Map<Family, string>();
  for (const value of values) {
    const at = value.indexOf("=");
    const family = (at < 0 ? value : value.slice(0, at)) as Family;
    if (!FAMILY_NAMES.includes(family))
      throw new ServeSetupError(`--model ${value}: "${family}" is not a model family; give ${FAMILY_NAMES.map((f) => `${f}[=DIR|HUB_ID]`).join(" or ")}`);
    if (specs.has(family)) throw new ServeSetupError(`--model ${family} is given twice`);
    const location = at < 0 ? "" : value.slice(at + 1);
    specs.set(family, location === "" ? defaultModel(roleOf(family)) : location);
  }
  return specs;
}

const roleOf = (family: Family): Role => (family === "siglip" ? "image-embedder" : "image-to-text");

/** `--batcher-config file` (every batcher) and `--batcher-config siglip_vision=file` (one). */
export function batcherSettingsFor(
  values: string[],
  flags: { batchSize?: number; maxQueueDelayUs: number },
): { batchers: Record<BatcherName, BatcherOptions>; workers?: number } {
  const batchers = Object.fromEntries(
    BATCHER_NAMES.map((name) => [name, { maxBatchSize: flags.batchSize ?? DEFAULT_BATCH[name], maxQueueDelayUs: flags.maxQueueDelayUs }]),
  ) as Record<BatcherName, BatcherOptions>;
  let workers: number | undefined;
  for (const value of values) {
    const at = value.indexOf("=");
    const name = at < 0 ? undefined : (value.slice(0, at) as BatcherName);
    if (name !== undefined && !BATCHER_NAMES.includes(name)) {
      throw new ServeSetupError(`--batcher-config ${value}: "${name}" has no batcher; give a file, or ${BATCHER_NAMES.map((n) => `${n}=FILE`).join(", ")}`);
    }
    const config = readBatcherConfig(at < 0 ? value : value.slice(at + 1));
    for (const target of name ? [name] : BATCHER_NAMES) batchers[target] = { maxBatchSize: config.maxBatchSize, maxQueueDelayUs: config.maxQueueDelayUs };
    workers = config.workers ?? workers;
  }
  return { batchers, workers };
}

export interface OpenedModels {
  /** The embedding model (any family: SigLIP, SigLIP 2, CLIP, DINOv2); `text` is absent for an image-only one. */
  siglip?: { image: ImageEmbedder; text?: TextEmbedder };
  florence2?: { model: ImageToText; settings: GenerationSettings };
}

/** The endpoints of the opened models, over shared preparation workers. */
export function buildEndpoints(models: OpenedModels, batchers: Record<BatcherName, BatcherOptions>, preparation: ImagePreparation): ServedEndpoint[] {
  const endpoints: ServedEndpoint[] = [];
  if (models.siglip) {
    if (models.siglip.text) {
      const text = textTower(models.siglip.text, batchers.siglip_text);
      const textModel = siglipText(text);
      endpoints.push(textModel, embedText(text, textModel.statistics));
    }
    const image = imageEmbeddingTower(models.siglip.image, batchers.siglip_vision, preparation);
    const visionModel = imageEmbedding("siglip_vision", image);
    endpoints.push(visionModel, imageEmbedding("embed_image", image, visionModel.statistics));
    // The Triton deployment's perf_analyzer command for embed_image names its composing model by this older name.
    endpoints.push(renamed(visionModel, "siglip"));
  }
  if (models.florence2) {
    const { model, settings } = models.florence2;
    endpoints.push(florence2(model, batchers.florence2, preparation, settings));
  }
  return endpoints;
}

export function loadedModels(models: OpenedModels): LoadedModel[] {
  const all: (LoadedModel | undefined)[] = [models.siglip?.image, models.siglip?.text, models.florence2?.model];
  return all.filter((m): m is LoadedModel => m !== undefined);
}
