/**
 * The emb-toolkit library: what the `emb` commands do, for Node programs (ESM).
 *
 *   import { SiglipEmbedder, embedImageFolder, Florence2, knnEvaluate, scoreCaptions, readNpy, writeNpy } from "emb-toolkit";
 *
 * Models open from a local folder or a Hugging Face hub repository id, as `--model` does.
 */
export { Embedder, SiglipEmbedder, type EmbedImageOptions, type EmbedOptions } from "./api/siglip.js";
export { ModelCapabilityError } from "./models/families.js";
export {
  embedImageFolder,
  embedTextFile,
  type EmbedImageFolderOptions,
  type EmbedImageOutcome,
  type EmbedTextFileOptions,
  type EmbedTextOutcome,
  type FolderOptions,
} from "./api/embed-folder.js";
export { Florence2, FLORENCE_TASKS, type FlorenceAnswer, type FlorenceRunOptions } from "./api/florence.js";
export { knnEvaluate, type KnnEvaluation, type KnnOptions, type LabelledEmbeddings } from "./api/knn.js";
export { readCocoAnnotations, scoreCaptions, type CaptionResult, type CaptionScores, type ScoreOptions } from "./api/coco.js";
export { npyRows, readNpy, writeNpy } from "./api/npy.js";
export { ImageInputError, type DecodeSettings, type ImageInput } from "./api/images.js";
export type { ModelOptions } from "./models/options.js";
export type { NpyArray } from "./io/npy.js";
export type { CocoAnnotations } from "./eval/coco/annotations.js";
export { CocoInputError } from "./eval/coco/annotations.js";
export { TaskError } from "./models/florence2/tasks.js";
export { DtypeSpecError } from "./models/common/variants.js";
export { ProviderUnavailableError } from "./runtime/session.js";
