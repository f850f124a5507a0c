/**
 * `emb embed image` and `emb embed text` for Node programs: the same jobs the commands run, so
 * the output folder (embeddings.npy, index.jsonl, errors.jsonl, run.json, resumption) is the one
 * the command writes for the same inputs and settings. The defaults are the commands'.
 */
import { availableParallelism } from "node:os";
import { DEFAULT_MAX_PIXELS } from "../image/decode.js";
import { DEFAULT_PART_ROWS, type ClipRetrievalLayout } from "../io/clip-retrieval-layout.js";
import { runEmbedImageJob, type EmbedImageOutcome, type ProgressEvent } from "../jobs/embed-image.js";
import { readTextSource, runEmbedTextJob, type EmbedTextOutcome } from "../jobs/embed-text.js";
import { defaultModel, openModel } from "../models/registry.js";
import { checkInputs, DEFAULT_EXTENSIONS } from "../sources/image-files.js";
import { parseShard } from "../sources/shard.js";
import type { DecodeSettings } from "./images.js";
import { registryOptions, type ModelOptions } from "../models/options.js";

export type { EmbedImageOutcome, EmbedTextOutcome };

export interface FolderOptions extends ModelOptions {
  /** The output folder; another run into it resumes, one with other settings is refused. */
  out: string;
  /** Write unit-length vectors to embeddings.npy. Default false. */
  normalize?: boolean;
  /** Largest batch the model runs (default 16 for images, 64 for texts, as the commands). */
  batchSize?: number;
  /** How long an input may wait for a fuller batch, in microseconds (default 100,000). */
  maxQueueDelayUs?: number;
  /** Only shard "i/n" of the inputs, as --shard (the scheduler's environment is not read). */
  shard?: string;
  /** "clip-retrieval" also writes clip-retrieval's parts, as --layout does; rows per part as --layout-rows. */
  layout?: "emb" | "clip-retrieval";
  layoutRows?: number;
  /** Warnings the command prints (interruption, truncated captions); default process.emitWarning. */
  onWarning?: (message: string) => void;
  onStart?: (total: number) => void;
}

export interface EmbedImageFolderOptions extends FolderOptions, DecodeSettings {
  /** Worker threads that read, decode and resize images (default: one per core). */
  workers?: number;
  /** File extensions taken from folders (default jpg, jpeg, png, webp, gif, bmp, tif, tiff, avif). */
  extensions?: string[];
  /** One call per image: embedded, unchanged (resumed) or failed with its reason. */
  onProgress?: (event: ProgressEvent) => void;
}

export interface EmbedTextFileOptions extends FolderOptions {
  /** The file holds token id rows (as --ids) rather than captions. */
  ids?: boolean;
  /** The caption field of a .jsonl file (default "text"). */
  field?: string;
  /** One call per caption done. */
  onProgress?: () => void;
}

/** The folder settings every embedding job takes, from the options as the commands' flags would give them. */
function folderSettings(kind: ClipRetrievalLayout["kind"], options: FolderOptions, defaultBatch: number) {
  const clipRetrieval = options.layout === "clip-retrieval" ? { kind, partRows: options.layoutRows ?? DEFAULT_PART_ROWS } : undefined;
  return {
    out: options.out,
    normalize: options.normalize ?? false,
    shard: options.shard === undefined ? undefined : parseShard(options.shard, "shard"),
    clipRetrieval,
    batcher: { maxBatchSize: options.batchSize ?? defaultBatch, maxQueueDelayUs: options.maxQueueDelayUs ?? 100_000 },
  };
}

const hooksOf = (options: FolderOptions) => ({
  warn: options.onWarning ?? ((message: string) => process.emitWarning(message)),
  onStart: options.onStart,
});

/** The model, opened as the commands open it, with what run.json records of it. */
async function open<R extends "image-embedder" | "text-embedder">(role: R, options: ModelOptions) {
  return { opened: await openModel(role, registryOptions(role, options)), modelSpec: options.model ?? defaultModel(role) };
}

/**
 * Embeds image files, folders and webdataset .tar shards into `options.out`, as `emb embed image`
 * does; resolves with its counts once the folder is written. Files that fail are counted and
 * listed in errors.jsonl, as the command does.
 */
export async function embedImageFolder(inputs: string[], options: EmbedImageFolderOptions): Promise<EmbedImageOutcome> {
  const settings = folderSettings("image", options, 16);
  await checkInputs(inputs);
  const decode = { maxPixels: options.maxPixels ?? DEFAULT_MAX_PIXELS, colorManagement: options.colorManagement ?? "none", maxFileSize: options.maxFileSize };
  const model = await open("image-embedder", options);
  return runEmbedImageJob(
    { ...settings, ...model, inputs, decode, extensions: options.extensions ?? DEFAULT_EXTENSIONS, workers: options.workers ?? availableParallelism() },
    { ...hooksOf(options), onProgress: options.onProgress },
  );
}

/**
 * Embeds a captions file (.txt one per line, .jsonl a field per line) or, with `ids`, a file of
 * token id rows into `options.out`, as `emb embed text --file` (or `--ids`) does.
 */
export async function embedTextFile(file: string, options: EmbedTextFileOptions): Promise<EmbedTextOutcome> {
  const settings = folderSettings("text", options, 64);
  const texts = readTextSource(file, { ids: options.ids, field: options.field, label: options.ids ? "ids" : "file" });
  const model = await open("text-embedder", options);
  return runEmbedTextJob({ ...settings, ...model, texts }, { ...hooksOf(options), onProgress: options.onProgress });
}
