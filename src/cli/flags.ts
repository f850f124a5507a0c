/** Flags shared by the commands that run a SigLIP model and read images. */
import { Flags } from "@oclif/core";
import { availableParallelism } from "node:os";
import { COLOR_MANAGEMENT_MODES, DEFAULT_MAX_PIXELS, type ColorManagement } from "../image/decode.js";
import { DEFAULT_MAX_FILE_SIZE, type ImageReadOptions } from "../image/read-image-file.js";
import { DEFAULT_EXTENSIONS } from "../sources/image-files.js";
import { defaultModel } from "../models/registry.js";
import { DTYPES } from "../models/common/variants.js";
import { MODEL_ALIASES, POOLINGS } from "../models/families.js";
import { readBatcherConfig } from "../batching/config.js";
import type { GenerationOverrides } from "../generation/settings.js";
import { DEVICES } from "../runtime/session.js";
import { DEFAULT_PART_ROWS, LAYOUTS, type ClipRetrievalLayout } from "../io/clip-retrieval-layout.js";

export const modelFlags = {
  model: Flags.string({
    char: "m",
    description: `a model directory, or a hub repository id downloaded into the Hugging Face cache; short names: ${Object.keys(MODEL_ALIASES).join(", ")} (each family's default repository)`,
    default: defaultModel("image-embedder"),
  }),
  dtype: Flags.string({
    description: `weight variant of the ONNX graphs: ${DTYPES.join(", ")}; or per part, e.g. vision=fp16,text=q8 (Florence-2: embed_tokens=fp16,decoder_model_merged=q4)`,
    default: "fp32",
  }),
  device: Flags.string({ description: "execution provider (auto: CUDA when installed, else CPU)", options: [...DEVICES], default: "auto" }),
  threads: Flags.integer({ description: "threads per inference (0: all cores)", default: 0, min: 0 }),
  revision: Flags.string({ description: "hub revision (branch, tag or commit)", default: "main" }),
  offline: Flags.boolean({ description: "use only the local Hugging Face cache (also HF_HUB_OFFLINE=1)", default: false }),
};

/** For commands that embed images: the choices some families offer (each refused by the others). */
export const imageModelFlags = {
  pooling: Flags.string({
    description: "DINOv2 only: embed the CLS token (cls, the default) or the mean of the patch tokens (mean); recorded in run.json",
    options: [...POOLINGS],
  }),
  "max-num-patches": Flags.integer({
    description:
      "SigLIP 2 NaFlex only: the most 16x16 patches an image becomes, its aspect ratio kept (default: the model's processor config, 256; 576, 784, 1024 are common); recorded in run.json",
    min: 1,
    max: 16384,
  }),
};

/** For commands that tokenise captions. */
export const textFlags = {
  lowercase: Flags.boolean({
    description:
      "lowercase captions before tokenising, as SigLIP 2 was trained (--no-lowercase keeps their case; recorded in run.json; SigLIP's and CLIP's own tokenizers ignore it)",
    default: true,
    allowNo: true,
  }),
};

export const batchingFlags = (defaultBatch: number) => ({
  "batch-size": Flags.integer({ description: "largest batch the model runs", default: defaultBatch, min: 1 }),
  "max-queue-delay-us": Flags.integer({
    description: "how long an input may wait for a fuller batch, in microseconds",
    default: 100_000,
    min: 0,
  }),
  "batcher-config": Flags.string({
    description: "batcher settings saved by emb perf --sweep --save-config (they replace --batch-size, --max-queue-delay-us and --workers)",
  }),
});

/** The batcher settings a command runs with: from --batcher-config when given, else its flags. */
export function batcherSettings(flags: { "batch-size": number; "max-queue-delay-us": number; "batcher-config"?: string; workers?: number }): {
  maxBatchSize: number;
  maxQueueDelayUs: number;
  workers: number;
} {
  const fallbackWorkers = flags.workers ?? availableParallelism();
  if (!flags["batcher-config"]) return { maxBatchSize: flags["batch-size"], maxQueueDelayUs: flags["max-queue-delay-us"], workers: fallbackWorkers };
  const config = readBatcherConfig(flags["batcher-config"]);
  return { maxBatchSize: config.maxBatchSize, maxQueueDelayUs: config.maxQueueDelayUs, workers: config.workers ?? fallbackWorkers };
}

export const outputFlags = {
  normalize: Flags.boolean({
    description: "write unit-length (L2-normalised) embeddings to embeddings.npy (--layout clip-retrieval's parts are unit length either way)",
    default: false,
  }),
  progress: Flags.boolean({ description: "show progress bars on stderr", default: true, allowNo: true }),
};

/**
 * --out of emb embed image|text: each kind its own default folder, so a text run after an image
 * run (or the other way round) without --out does not meet the other's folder and get refused.
 */
export const embeddingsOutFlag = (kind: "image" | "text") => ({
  out: Flags.string({ char: "o", description: "output folder (image and text runs default to different ones)", default: `${kind}-embeddings` }),
});

/** How an embedding folder is laid out besides embeddings.npy + index.jsonl (emb embed image|text, emb merge). */
export const layoutFlags = {
  layout: Flags.string({
    description:
      "clip-retrieval: also write img_emb/ (or text_emb/) and metadata/ parts as clip-retrieval's inference does, for its index step: " +
      "their rows are L2-normalised float16, as clip-retrieval's are, whether or not embeddings.npy is (--normalize)",
    options: [...LAYOUTS],
    default: "emb",
  }),
  "layout-rows": Flags.integer({ description: "rows per part of --layout clip-retrieval", default: DEFAULT_PART_ROWS, min: 1 }),
};

/** The clip-retrieval layout the flags ask for, if any. */
export function clipRetrievalLayout(flags: { layout: string; "layout-rows": number }, kind: ClipRetrievalLayout["kind"]): ClipRetrievalLayout | undefined {
  return flags.layout === "clip-retrieval" ? { kind, partRows: flags["layout-rows"] } : undefined;
}

/** Flags of the commands that read folders of images. */
export const imageInputFlags = {
  workers: Flags.integer({ description: "worker threads that read, decode and resize images", default: availableParallelism(), min: 1 }),
  ext: Flags.string({
    description: "file extensions taken from folders, comma-separated; in a .tar shard, a sample's image is its member with the first of these",
    default: DEFAULT_EXTENSIONS.join(","),
  }),
  "max-pixels": Flags.integer({ description: "skip images with more pixels than this (decompression bombs)", default: DEFAULT_MAX_PIXELS, min: 1 }),
  "max-file-size": Flags.integer({
    helpValue: "MB",
    description: "skip image files (and .tar members) larger than this many MB (1 MB = 1,000,000 bytes); named pipes and devices are never read",
    default: DEFAULT_MAX_FILE_SIZE / 1e6,
    min: 1,
  }),
  "color-management": Flags.string({
    description: "embedded ICC profiles: none ignores them as PIL does (embeddings equal the Python pipeline's); srgb converts to sRGB",
    options: [...COLOR_MANAGEMENT_MODES],
    default: "none",
  }),
};

/**
 * Flags of the evaluations (emb knn eval, emb retrieval eval): where embeddings come from (an
 * emb embed image folder, the cache, the model) and how the model runs.
 */
export const evaluationFlags = {
  embeddings: Flags.string({
    char: "e",
    description: "an emb embed image output folder to take image embeddings from; repeat for the shards of one job (read as one)",
    multiple: true,
  }),
  "cache-dir": Flags.string({ description: "embedding cache (default $EMB_CACHE_DIR, else $XDG_CACHE_HOME/emb, else ~/.cache/emb)" }),
  ...modelFlags,
  ...textFlags,
  ...imageModelFlags,
  "batch-size": Flags.integer({ description: "largest batch the model runs", default: 16, min: 1 }),
  ...imageInputFlags,
  progress: Flags.boolean({ description: "show progress bars on stderr", default: true, allowNo: true }),
};

/** Which part of the inputs a run takes, for the commands that walk inputs. */
export const shardFlags = {
  shard: Flags.string({
    helpValue: "i/n",
    description:
      "take only shard i of n (0-based, e.g. 2/4): each input goes to one shard by a hash of its path, so n runs with their own --out cover every input once. " +
      "Default: a Slurm array task's SLURM_ARRAY_TASK_ID (less SLURM_ARRAY_TASK_MIN) of SLURM_ARRAY_TASK_COUNT, or a Kubernetes Indexed Job's JOB_COMPLETION_INDEX " +
      "of EMB_SHARD_COUNT (set it to the Job's completions: Kubernetes does not export that count); 0/1 takes all",
  }),
};

/** Inputs listed in a file, for the commands that take image files. */
export const filesFromFlags = {
  "files-from": Flags.string({
    helpValue: "FILE|-",
    description:
      "also take the files (folders, .tar shards) listed in FILE, one path per line as find prints them (- for standard input); a listed file that is missing is reported in errors.jsonl and the run goes on",
  }),
};

/** The decoding settings of the image flags, and the file size limit of those that read files (bytes). */
export function decodeOptions(flags: { "max-pixels": number; "color-management": string; "max-file-size"?: number }): ImageReadOptions {
  const decode: ImageReadOptions = { maxPixels: flags["max-pixels"], colorManagement: flags["color-management"] as ColorManagement };
  if (flags["max-file-size"] !== undefined) decode.maxFileSize = flags["max-file-size"] * 1e6;
  return decode;
}

/** The --ext value as a list. */
export const extensionList = (ext: string) =>
  ext
    .split(",")
    .map((e) => e.trim())
    .filter(Boolean);

/** Florence-2 generation settings; unset flags keep the model's generation_config.json values. */
export const generationFlags = {
  "num-beams": Flags.integer({ description: "beams (1: greedy); default: the model's generation_config.json", min: 1 }),
  "max-new-tokens": Flags.integer({ description: "most tokens generated per image", default: 1024, min: 1 }),
  "min-new-tokens": Flags.integer({ description: "end-of-sequence is suppressed before this many tokens", default: 0, min: 0 }),
  "no-repeat-ngram-size": Flags.integer({ description: "ban repeated n-grams of this size (0: off); default: the model's", min: 0 }),
  "length-penalty": Flags.string({ description: "beam score = log-probability / length^penalty; default: the model's (1.0)" }),
  "early-stopping": Flags.string({ description: "when beam search stops; default: the model's", options: ["true", "false", "never"] }),
};

/** The generation flags as overrides; a --length-penalty that is not a number is a RangeError. */
export function generationOverrides(flags: {
  "num-beams"?: number;
  "max-new-tokens": number;
  "min-new-tokens": number;
  "no-repeat-ngram-size"?: number;
  "length-penalty"?: string;
  "early-stopping"?: string;
}): GenerationOverrides {
  const penalty = flags["length-penalty"] === undefined ? undefined : Number(flags["length-penalty"]);
  if (penalty !== undefined && !Number.isFinite(penalty)) throw new RangeError(`--length-penalty ${flags["length-penalty"]} is not a number`);
  const early = flags["early-stopping"];
  return {
    numBeams: flags["num-beams"],
    maxNewTokens: flags["max-new-tokens"],
    minNewTokens: flags["min-new-tokens"],
    noRepeatNgramSize: flags["no-repeat-ngram-size"],
    lengthPenalty: penalty,
    earlyStopping: early === undefined ? undefined : early === "never" ? "never" : early === "true",
  };
}
