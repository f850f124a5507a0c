/**
 * The one place that knows which model family fills each role and how to open it: parse its
 * `--dtype`, choose the repository files it needs, resolve them (local folder, Hugging Face
 * cache, or download) and load the sessions. Commands, pipelines and perf ask for a role.
 */
import type { SessionOptions } from "../runtime/session.js";
import { resolveModel, type HubOptions, type ResolvedModel } from "./common/hub.js";
import { graphWithWeights } from "./common/layout.js";
import { weightsIdentity } from "./common/weights-identity.js";
import type { DtypeSpec } from "./common/variants.js";
import { drawResult } from "./florence2/draw.js";
import { DEFAULT_FLORENCE2_MODEL, Florence2Model, florence2Files, parseFlorence2Dtype } from "./florence2/model.js";
import { buildPrompt, FLORENCE_TASKS, TaskError } from "./florence2/tasks.js";
import { combinedGraph, parseTowerDtype } from "./common/towers.js";
import { DEFAULT_SIGLIP_MODEL, SiglipImageModel, siglipImageFiles } from "./siglip/image.js";
import { readLogitParameters } from "./siglip/logits.js";
import { SiglipTextModel, siglipTextFiles, type TextOptions } from "./siglip/text.js";
import type { ImageEmbedder, ImageToText, LogitParameters, TextEmbedder } from "./types.js";

export type Role = "image-embedder" | "text-embedder" | "image-to-text";

interface Family<M> {
  defaultModel: string;
  parseDtype(text: string): DtypeSpec;
  files(spec: DtypeSpec): (files: string[]) => string[];
  load(dir: string, spec: DtypeSpec, session: SessionOptions, text: TextOptions): Promise<M>;
}

const FAMILIES = {
  "image-embedder": {
    defaultModel: DEFAULT_SIGLIP_MODEL,
    parseDtype: parseTowerDtype,
    files: siglipImageFiles,
    load: (dir, spec, session) => SiglipImageModel.load(dir, spec, session),
  } satisfies Family<ImageEmbedder>,
  "text-embedder": {
    defaultModel: DEFAULT_SIGLIP_MODEL,
    parseDtype: parseTowerDtype,
    files: siglipTextFiles,
    load: (dir, spec, session, text) => SiglipTextModel.load(dir, spec, session, text),
  } satisfies Family<TextEmbedder>,
  "image-to-text": {
    defaultModel: DEFAULT_FLORENCE2_MODEL,
    parseDtype: parseFlorence2Dtype,
    files: florence2Files,
    load: (dir, spec, session) => Florence2Model.load(dir, spec, session),
  } satisfies Family<ImageToText>,
};

export type RoleModel = { "image-embedder": ImageEmbedder; "text-embedder": TextEmbedder; "image-to-text": ImageToText };

export function defaultModel(role: Role): string {
  return FAMILIES[role].defaultModel;
}

/** Parses `--dtype` for a role's family; a bad value throws DtypeSpecError naming the valid ones. */
export function parseDtype(role: Role, text: string): DtypeSpec {
  return FAMILIES[role].parseDtype(text);
}

export interface OpenOptions {
  /** How captions are tokenised, for models with a text tower. */
  text?: TextOptions;
  /** A model folder or hub repository id; the role's default when absent. */
  model?: string;
  dtype: DtypeSpec;
  session: SessionOptions;
  hub?: Omit<HubOptions, "onProgress">;
  onDownload?: HubOptions["onProgress"];
}

/** What identifies a model: the repository (or folder) and its commit, and the content of the files it loads. */
export interface ModelSource {
  model: string;
  commit: string | null;
  /** `sha256:...` over the files the role loads (see weights-identity.ts). */
  weights: string;
}

export interface Opened<M> {
  model: M;
  resolved: ResolvedModel;
  source: ModelSource;
}

async function resolve(pick: (files: string[]) => string[], options: OpenOptions, role: Role): Promise<{ resolved: ResolvedModel; spec: string }> {
  const spec = options.model ?? defaultModel(role);
  const resolved = await resolveModel(spec, pick, { ...options.hub, onProgress: options.onDownload });
  return { resolved, spec };
}

async function sourceOf(resolved: ResolvedModel, spec: string): Promise<ModelSource> {
  return { model: resolved.repo ?? spec, commit: resolved.commit ?? null, weights: await weightsIdentity(resolved.dir, resolved.files) };
}

export async function openModel<R extends Role>(role: R, options: OpenOptions): Promise<Opened<RoleModel[R]>> {
  const family = FAMILIES[role] as unknown as Family<RoleModel[R]>;
  const { resolved, spec } = await resolve(family.files(options.dtype), options, role);
  const source = await sourceOf(resolved, spec);
  const model = await family.load(resolved.dir, options.dtype, options.session, options.text ?? {});
  return { model, resolved, source };
}

/** What identifies the model a role would open, without loading it: to check that an output folder's rows came from it. */
export async function identifyModel(role: Role, options: OpenOptions): Promise<ModelSource> {
  const { resolved, spec } = await resolve(FAMILIES[role].files(options.dtype), options, role);
  return sourceOf(resolved, spec);
}

/**
 * Both SigLIP towers from one resolution, with the logit scale and bias of image-text matching:
 * read from the combined graph when the model has one, else the given ones.
 */
export async function openMatcher(
  options: OpenOptions,
  given?: LogitParameters,
): Promise<{ image: ImageEmbedder; text: TextEmbedder; logits: LogitParameters; resolved: ResolvedModel; source: ModelSource }> {
  const spec = options.dtype;
  const pick = (files: string[]) => {
    const wanted = new Set([...siglipImageFiles(spec)(files), ...siglipTextFiles(spec)(files)]);
    const combined = given ? undefined : combinedGraph(files, spec);
    if (combined) for (const f of graphWithWeights(files, combined)) wanted.add(f);
    return [...wanted];
  };
  const { resolved, spec: name } = await resolve(pick, options, "image-embedder");
  const source = await sourceOf(resolved, name);
  const image = await SiglipImageModel.load(resolved.dir, spec, options.session);
  const text = await SiglipTextModel.load(resolved.dir, spec, options.session, options.text ?? {});
  const logits = given ?? (await readLogitParameters(resolved.dir, spec, image.preprocessing.width, options.session));
  return { image, text, logits, resolved, source };
}

/** `emb perf --target` names: the role each loads and, for image-to-text, the task. */
export const PERF_TARGETS = ["siglip-image", "siglip-text", "florence:<TASK>"];

export function perfTarget(name: string): { role: Role; task?: string } | undefined {
  if (name === "siglip-image") return { role: "image-embedder" };
  if (name === "siglip-text") return { role: "text-embedder" };
  const task = /^florence:(<[A-Z_]+>)$/.exec(name)?.[1];
  return task ? { role: "image-to-text", task } : undefined;
}

/** The image-to-text family's tasks, checked before a model is loaded. */
export const imageToTextTasks = {
  names: FLORENCE_TASKS,
  /** The prompt for a task (and its text input); throws TaskError for an unknown task or a missing text. */
  prompt: buildPrompt,
  /** Draws a task's answer on the image. */
  draw: drawResult,
};

export { TaskError };
export { PromptTooLongError } from "./florence2/prompt-limit.js";
