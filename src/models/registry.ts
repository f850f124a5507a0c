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
import { type EmbeddingFamily, embeddingFamily, expandAlias, type ImageOptions, ModelCapabilityError } from "./families.js";
import { DEFAULT_SIGLIP_MODEL } from "./siglip/image.js";
import { EXPORT_REPORT, readLogitParameters } from "./common/logits.js";
import type { TextOptions } from "./siglip/text.js";
import type { ImageEmbedder, ImageToText, LogitParameters, TextEmbedder } from "./types.js";

export type Role = "image-embedder" | "text-embedder" | "image-to-text";

export type RoleModel = { "image-embedder": ImageEmbedder; "text-embedder": TextEmbedder; "image-to-text": ImageToText };

const DEFAULT_MODELS: Record<Role, string> = {
  "image-embedder": DEFAULT_SIGLIP_MODEL,
  "text-embedder": DEFAULT_SIGLIP_MODEL,
  "image-to-text": DEFAULT_FLORENCE2_MODEL,
};

export function defaultModel(role: Role): string {
  return DEFAULT_MODELS[role];
}

/** Parses `--dtype` for a role; a bad value throws DtypeSpecError naming the valid ones. */
export function parseDtype(role: Role, text: string): DtypeSpec {
  return role === "image-to-text" ? parseFlorence2Dtype(text) : parseTowerDtype(text);
}

export interface OpenOptions {
  /** How captions are tokenised, for models with a text tower. */
  text?: TextOptions;
  /** How image embeddings are pooled, where the family offers a choice (DINOv2). */
  image?: ImageOptions;
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

/** A hub id or folder from --model (a family's short name expanded), the role's default when absent. */
function modelSpec(options: OpenOptions, role: Role): string {
  return expandAlias(options.model ?? defaultModel(role));
}

function hubOptions(options: OpenOptions): HubOptions {
  return { ...options.hub, onProgress: options.onDownload };
}

async function sourceOf(resolved: ResolvedModel, spec: string): Promise<ModelSource> {
  return { model: resolved.repo ?? spec, commit: resolved.commit ?? null, weights: await weightsIdentity(resolved.dir, resolved.files) };
}

/**
 * Resolves an embedding model in two steps: its config.json first, which names the family, then
 * the files that family needs, from the same commit.
 */
async function resolveEmbedder(
  options: OpenOptions,
  role: Role,
  pick: (family: EmbeddingFamily) => (files: string[]) => string[],
  needsText = false,
): Promise<{ resolved: ResolvedModel; spec: string; family: EmbeddingFamily }> {
  const spec = modelSpec(options, role);
  const hub = hubOptions(options);
  const first = await resolveModel(spec, (files) => files.filter((f) => f === "config.json"), hub);
  const family = embeddingFamily(first.dir, spec);
  if (role !== "image-embedder" || needsText) textTowerOf(family, spec);
  const resolved = await resolveModel(spec, pick(family), first.commit ? { ...hub, revision: first.commit } : hub);
  return { resolved, spec, family };
}

/** The family's text tower; an image-only family is refused in one sentence, naming the model when given. */
function textTowerOf(family: EmbeddingFamily, spec?: string): NonNullable<EmbeddingFamily["text"]> {
  if (!family.text) {
    throw new ModelCapabilityError(
      `${spec ? `${spec}: ` : ""}${family.name} is an image-only model: it has no text tower, so it cannot embed text or classify zero-shot; use a SigLIP, SigLIP 2 or CLIP model for that (few-shot knn eval works with any image model)`,
    );
  }
  return family.text;
}

function pickerFor(role: Role, spec: DtypeSpec): (family: EmbeddingFamily) => (files: string[]) => string[] {
  return (family) => (role === "text-embedder" ? textTowerOf(family).files(spec) : family.image.files(spec));
}

export async function openModel<R extends Role>(role: R, options: OpenOptions): Promise<Opened<RoleModel[R]>> {
  if (role === "image-to-text") {
    const spec = modelSpec(options, role);
    const resolved = await resolveModel(spec, florence2Files(options.dtype), hubOptions(options));
    const model = await Florence2Model.load(resolved.dir, options.dtype, options.session);
    return { model: model as unknown as RoleModel[R], resolved, source: await sourceOf(resolved, spec) };
  }
  const { resolved, spec, family } = await resolveEmbedder(options, role, pickerFor(role, options.dtype));
  const source = await sourceOf(resolved, spec);
  const model =
    role === "text-embedder"
      ? await textTowerOf(family).load(resolved.dir, options.dtype, options.session, options.text ?? {})
      : await family.image.load(resolved.dir, options.dtype, options.session, options.image ?? {});
  return { model: model as unknown as RoleModel[R], resolved, source };
}

/** What identifies the model a role would open, without loading it: to check that an output folder's rows came from it. */
export async function identifyModel(role: Role, options: OpenOptions): Promise<ModelSource> {
  if (role === "image-to-text") {
    const spec = modelSpec(options, role);
    return sourceOf(await resolveModel(spec, florence2Files(options.dtype), hubOptions(options)), spec);
  }
  const { resolved, spec } = await resolveEmbedder(options, role, pickerFor(role, options.dtype));
  return sourceOf(resolved, spec);
}

/**
 * Both towers from one resolution, with the logit scale (and bias) of image-text matching: read
 * from the combined graph when the model has one, else the given ones.
 */
export async function openMatcher(
  options: OpenOptions,
  given?: Omit<LogitParameters, "probabilities">,
): Promise<{ image: ImageEmbedder; text: TextEmbedder; logits: LogitParameters; resolved: ResolvedModel; source: ModelSource }> {
  const spec = options.dtype;
  const pick = (family: EmbeddingFamily) => (files: string[]) => {
    const wanted = new Set([...family.image.files(spec)(files), ...textTowerOf(family).files(spec)(files)]);
    const combined = given ? undefined : combinedGraph(files, spec);
    if (combined) for (const f of graphWithWeights(files, combined)) wanted.add(f);
    else if (!given && files.includes(EXPORT_REPORT)) wanted.add(EXPORT_REPORT);
    return [...wanted];
  };
  const { resolved, spec: name, family } = await resolveEmbedder(options, "image-embedder", pick, true);
  const source = await sourceOf(resolved, name);
  const textTower = textTowerOf(family);
  const image = await family.image.load(resolved.dir, spec, options.session, options.image ?? {});
  const text = await textTower.load(resolved.dir, spec, options.session, options.text ?? {});
  const read = given ?? (await readLogitParameters(resolved.dir, spec, text, image.preprocessing.width, options.session));
  // softmax is recorded only where it applies, so SigLIP's fingerprints stay as they were
  const logits: LogitParameters = textTower.probabilities === "softmax" ? { ...read, probabilities: "softmax" } : read;
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
