/**
 * The `emb florence` job: one image answered on its own (printed, nothing written), or every
 * image's answer recorded in an output folder (results.jsonl, resumable), each optionally drawn
 * on its image (--draw). The runner configuration is image-to-text.ts, shared with COCO captioning.
 */
import { basename, dirname, isAbsolute, join, normalize, parse, relative, resolve, sep } from "node:path";
import type { BatcherOptions } from "../batching/batcher.js";
import type { GenerationOverrides, GenerationSettings } from "../generation/settings.js";
import { decodeFingerprint, type DecodeOptions } from "../image/decode.js";
import { imageToTextTasks, type Opened } from "../models/registry.js";
import type { ImageToText } from "../models/types.js";
import type { ImageSources } from "../pipeline/image-stage.js";
import type { PathList } from "../sources/path-list.js";
import { isTarPath, isTarSamplePath } from "../sources/tar.js";
import { imageToText, type ImageFailure, type ImageToTextOptions, type ImageToTextResult, type ImageToTextSummary } from "./image-to-text.js";
import { releasedOnError } from "./embed-run.js";
import type { JobHooks } from "./hooks.js";
import { resultsSummary, runIntoResults, type ResultsOutcome } from "./results-folder.js";

/** Everything `emb florence` runs with, flags already read. */
export interface FlorenceJob extends ImageSources {
  opened: Opened<ImageToText>;
  /** The model as the user named it (--model), for run.json. */
  modelSpec: string | undefined;
  task: string;
  text: string | undefined;
  /** The task's prompt text, checked before the model was opened. */
  prompt: string;
  overrides: GenerationOverrides;
  /** The output folder, for anything but a single image. */
  out: string;
  /** --draw: the folder the pictures of the results go to. */
  draw: string | undefined;
  decode: DecodeOptions;
  extensions: string[];
  workers: number;
  batcher: BatcherOptions;
}

/** The runner reports no event: the progress bar only counts. */
export type FlorenceHooks = JobHooks;

export type FlorenceOutcome = ResultsOutcome<ImageToTextSummary>;

/** What the folder's results depend on: another run into the same folder must match it. */
export function florenceFingerprint(job: Pick<FlorenceJob, "opened" | "task" | "text" | "decode">, settings: GenerationSettings): Record<string, unknown> {
  const { model, source } = job.opened;
  return { ...source, dtype: model.info.dtype, task: job.task, text: job.text ?? null, settings, ...decodeFingerprint(job.decode) };
}

type Draw = (result: ImageToTextResult) => Promise<void>;

/** The runner's options (the model's settings and prompt) and the drawing; the model is released when it refuses the settings or the prompt. */
async function prepare(job: FlorenceJob, warn: (message: string) => void) {
  const { model } = job.opened;
  const settings = await releasedOnError(model, () => model.settings(job.overrides));
  const prompt = await releasedOnError(model, () => model.encodePrompt(job.prompt, "--text"));
  const options: Omit<ImageToTextOptions, "onResult" | "onFailure"> = { ...job, prompt, settings };
  return { options, settings, draw: await drawer(job, warn) };
}

/** One image on its own: its result, or why it failed. Nothing is written but its picture (--draw). */
export async function florenceOnImage(job: FlorenceJob, hooks: FlorenceHooks): Promise<{ result: Record<string, unknown> } | { failure: string }> {
  const { model } = job.opened;
  const { options, draw } = await prepare(job, hooks.warn);
  let found: ImageToTextResult | undefined;
  let failure: ImageFailure | undefined;
  try {
    await imageToText(model, {
      ...options,
      workers: 1,
      onResult: async (r) => {
        found = r;
        await draw(r);
      },
      onFailure: (f) => (failure = f),
    });
  } finally {
    hooks.onEnd?.();
    await model.release();
  }
  return failure ? { failure: `${failure.path}: ${failure.error}` } : { result: found!.result };
}

/** Runs the job into its folder as a recorded run (resumable: unchanged images are not run again); the model is released at the end. */
export async function runFlorenceJob(job: FlorenceJob, hooks: FlorenceHooks): Promise<FlorenceOutcome> {
  const { model, resolved } = job.opened;
  const { options, settings, draw } = await prepare(job, hooks.warn);
  const folder = {
    out: job.out,
    shard: job.shard,
    fingerprint: florenceFingerprint(job, settings),
    command: "florence",
    model: { spec: job.modelSpec, ...resolved, ...model.info },
  };
  return runIntoResults<ImageToTextResult, ImageToTextSummary>(
    folder,
    hooks,
    () => model.release(),
    (store, signal) =>
      imageToText(model, {
        ...options,
        signal,
        isDone: (path, bytes, mtimeMs) => {
          const previous = store.recordFor(path);
          return previous !== undefined && previous.bytes === bytes && previous.mtimeMs === mtimeMs;
        },
        onResult: async (r) => {
          store.add(r);
          await draw(r);
        },
        onFailure: (f) => store.addError({ ...f, time: new Date().toISOString() }),
        onStart: hooks.onStart,
        onProgress: () => hooks.onProgress?.(),
      }),
  );
}

/** The lines printed when a folder run ends. */
export function florenceSummary(o: FlorenceOutcome, provider: string): string[] {
  return resultsSummary(o, { verb: "processed", count: o.processed, rateDigits: 2 }, provider);
}

/** --draw: each result drawn on its image, the inputs' folders mirrored below the --draw folder. */
async function drawer(job: FlorenceJob, warn: (message: string) => void): Promise<Draw> {
  const drawDir = job.draw;
  if (!drawDir) return async () => {};
  const root = await commonFolder(job.inputs, job.list);
  let warnedTar = false;
  return async (r) => {
    if (isTarSamplePath(r.path)) {
      if (!warnedTar) warn("--draw draws image files only; samples read from .tar shards are not drawn");
      warnedTar = true;
      return;
    }
    await imageToTextTasks.draw(r.path, r.result, drawnPath(drawDir, root, r.path));
  };
}

/**
 * The folder --draw mirrors: the one that holds every input (a folder or image argument, or a
 * --files-from path). One folder draws as `cp -r` copies it, the same however it is spelt
 * (`photos` and `/tmp/x/photos` both into <draw>/photos/), one image as its name, and inputs in
 * several folders keep the paths that tell them apart. An input spelt `.` or `..` is the folder
 * itself, as for cp. Tar shards are left out: their samples are not drawn.
 */
async function commonFolder(inputs: string[], list: PathList | undefined): Promise<string> {
  let common: string | undefined;
  const add = (input: string) => {
    if (isTarPath(input)) return;
    const full = resolve(input);
    const folder = [".", ".."].includes(basename(normalize(input))) ? full : dirname(full);
    if (common === undefined) common = folder;
    // Up to the folder that holds both: the root at worst (on Windows, the first input's drive).
    while (!isWithin(common, folder) && dirname(common) !== common) common = dirname(common);
  };
  inputs.forEach(add);
  if (list) for await (const input of list.paths()) add(input);
  return common ?? process.cwd();
}

function isWithin(folder: string, path: string): boolean {
  const rel = relative(folder, path);
  return rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

/** Where --draw puts an image's picture: its path below the inputs' common folder, as PNG. */
function drawnPath(drawDir: string, root: string, path: string): string {
  let rel = relative(root, resolve(path));
  // Another drive (Windows): its path without the drive.
  if (isAbsolute(rel)) rel = rel.slice(parse(rel).root.length);
  const { dir, name } = parse(rel);
  return join(drawDir, dir, `${name}.png`);
}
