/**
 * The embeddings an evaluation scores: images from an `emb embed image` folder (--embeddings), the
 * content-addressed cache or the model, and texts from the cache or the model. Shared by
 * `emb knn eval` and `emb retrieval eval`.
 */
import type { BatcherOptions } from "../batching/batcher.js";
import { decodeFingerprint, type DecodeOptions } from "../image/decode.js";
import type { ModelSource, Opened, RoleModel } from "../models/registry.js";
import type { ImageEmbedder, TextEmbedder } from "../models/types.js";
import { OutputMismatchError } from "../io/output-folder.js";
import { cacheFolder, cachedImageEmbeddings, cachedTextEmbeddings, embeddingsFromFolder, readEmbeddingFolders, type FileFailure } from "./embedding-cache.js";
import type { Phase } from "./job-output.js";

export interface LoadedModel<M> {
  model: M;
  /** What made its embeddings: model, commit, graph, preprocessing. */
  fingerprint: Record<string, unknown>;
}

/** The roles an evaluation opens models for. */
export type EmbedderRole = "image-embedder" | "text-embedder";

/**
 * The two towers an evaluation may open, each with the fingerprint its embeddings are cached
 * under; `releaseAll` releases what was opened.
 */
export function evaluationModels(open: <R extends EmbedderRole>(role: R) => Promise<Opened<RoleModel[R]>>, decode: DecodeOptions | undefined) {
  const releases: (() => Promise<void>)[] = [];
  const load = async <R extends EmbedderRole>(role: R, describe: (m: RoleModel[R]) => Record<string, unknown>): Promise<LoadedModel<RoleModel[R]>> => {
    const { model, source } = await open(role);
    releases.push(() => model.release());
    return { model, fingerprint: { ...source, ...describe(model) } };
  };
  const decoded = decodeFingerprint(decode);
  return {
    loadImageModel: () =>
      load("image-embedder", (m) => ({
        graph: m.info.graph,
        ...(m.info.pooling ? { pooling: m.info.pooling } : {}),
        preprocessing: m.preprocessing,
        ...decoded,
      })),
    loadTextModel: () =>
      load("text-embedder", (m) => ({ graph: m.info.graph, length: m.info.length, ...(m.info.tokenizer ? { tokenizer: m.info.tokenizer } : {}) })),
    releaseAll: async () => {
      for (const release of releases) await release();
    },
  };
}

export interface TextEmbeddingOptions {
  cacheDir: string;
  batcher: BatcherOptions;
  loadTextModel: () => Promise<LoadedModel<TextEmbedder>>;
  phase: (label: string, unit: string) => Phase;
  signal?: AbortSignal;
}

export interface ImageEmbeddingOptions {
  /** `emb embed image` output folders to take vectors from: one, or the shards of one job (read as one). */
  embeddingsDirs?: string[];
  /** Where texts will be embedded with the model's text tower: what does so, for the error when the folder's model differs. */
  sameModelAs?: string;
  cacheDir: string;
  workers: number;
  decode?: DecodeOptions;
  batcher: BatcherOptions;
  loadImageModel: () => Promise<LoadedModel<ImageEmbedder>>;
  identifyImageModel: () => Promise<ModelSource>;
  phase: (label: string, unit: string) => Phase;
  signal?: AbortSignal;
}

/** `fileBytes`: the bytes of the files whose names are not UTF-8, which the file system calls take. */
export async function imageEmbeddings(files: string[], options: ImageEmbeddingOptions, notes: string[], fileBytes?: ReadonlyMap<string, Buffer>) {
  let vectors = new Map<string, Float32Array>();
  let pending = files;
  let fromFolder = 0;
  let external;
  if (options.embeddingsDirs?.length) {
    external = readEmbeddingFolders(options.embeddingsDirs);
    if (options.sameModelAs) await checkSameModel(external.dir, external.fingerprint, await options.identifyImageModel(), options.sameModelAs);
    const found = await embeddingsFromFolder(external, files).finally(() => external!.close?.());
    vectors = found.vectors;
    pending = found.missing;
    fromFolder = vectors.size;
  }
  const outcome = { vectors, failed: new Map<string, FileFailure>(), fromFolder, reused: 0, embedded: 0, interrupted: false };
  if (pending.length === 0) return outcome;

  const { model, fingerprint } = await options.loadImageModel();
  if (external && !sameEmbeddingSpace(external.fingerprint, fingerprint)) {
    notes.push(
      `${pending.length} image(s) are not in ${external.dir}, which was made ${external.fingerprint ? `with another model (${String(external.fingerprint.model)})` : "by a run that left no run.json"}; ` +
        `they are left out rather than mixed: embed them there with emb embed image, or drop --embeddings`,
    );
    for (const file of pending) outcome.failed.set(file, { reason: "not-in-embeddings", error: `not in ${external.dir}` });
    return outcome;
  }
  const bar = options.phase("embedding images", "img");
  const cached = await cachedImageEmbeddings(model, pending, {
    fileBytes,
    dir: cacheFolder(options.cacheDir, "images", fingerprint),
    fingerprint,
    workers: options.workers,
    decode: options.decode,
    batcher: options.batcher,
    signal: options.signal,
    onStart: (n) => bar.start(n),
    onProgress: () => bar.tick(),
  });
  bar.stop();
  for (const [file, vector] of cached.vectors) outcome.vectors.set(file, vector);
  return { ...outcome, failed: cached.failed, reused: cached.reused, embedded: cached.embedded, interrupted: cached.interrupted };
}

/** Vectors of distinct texts, from the cache or embedded into it under a progress bar (`label`, `unit`). */
export async function textEmbeddings(texts: string[], options: TextEmbeddingOptions, label: string, unit: string) {
  const { model, fingerprint } = await options.loadTextModel();
  const bar = options.phase(label, unit);
  const out = await cachedTextEmbeddings(model, texts, {
    dir: cacheFolder(options.cacheDir, "texts", fingerprint),
    fingerprint,
    batcher: options.batcher,
    signal: options.signal,
    onStart: (n) => bar.start(n),
    onProgress: () => bar.tick(),
  });
  bar.stop();
  return { ...out, model: fingerprint.model };
}

/** Whether two fingerprints describe the same image embeddings: same model, weights, graph and preprocessing. */
function sameEmbeddingSpace(a: Record<string, unknown> | undefined, b: Record<string, unknown>): boolean {
  return ["model", "commit", "weights", "graph", "preprocessing", "colorManagement"].every((key) => JSON.stringify(a?.[key]) === JSON.stringify(b[key]));
}

/**
 * Texts embedded with `model` and an --embeddings folder's image vectors must come from one model,
 * or their scores mean nothing. `textUse` says what embeds the texts ("--zero-shot embeds the prompts").
 */
async function checkSameModel(dir: string, folder: Record<string, unknown> | undefined, model: ModelSource, textUse: string): Promise<void> {
  const fix = `pass the --model (and --dtype) that folder was embedded with, or drop --embeddings to embed the images with ${model.model}`;
  if (typeof folder?.weights !== "string") {
    const why = folder ? "by an earlier emb, which did not record the content of its model's files" : "by a run that left no run.json";
    throw new OutputMismatchError(`${dir} was made ${why}, so its image vectors cannot be proven to match the prompts' model; ${fix}`);
  }
  if (folder.weights !== model.weights || folder.model !== model.model || (folder.commit ?? null) !== model.commit) {
    throw new OutputMismatchError(
      `${dir} was made with ${String(folder.model)} (weights ${folder.weights.slice(0, 19)}), but ${textUse} with ` +
        `${model.model} (its image tower's weights ${model.weights.slice(0, 19)}): image and text vectors of different models cannot be compared; ${fix}`,
    );
  }
}

/** The first few items of a long list, and how many more. */
export function listSome(items: string[], shown = 8): string {
  return items.length <= shown ? items.join(", ") : `${items.slice(0, shown).join(", ")} and ${items.length - shown} more`;
}
