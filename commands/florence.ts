import { Args, Flags } from "@oclif/core";
import { EmbCommand } from "../src/cli/command.js";
import { InputFailedError, runStatus } from "../src/cli/errors.js";
import { stat } from "node:fs/promises";
import { basename, dirname, isAbsolute, join, normalize, parse, relative, resolve, sep } from "node:path";
import {
  batcherSettings,
  batchingFlags,
  decodeFingerprint,
  decodeOptions,
  extensionList,
  filesFromFlags,
  generationFlags,
  generationOverrides,
  imageInputFlags,
  modelFlags,
  shardFlags,
} from "../src/cli/flags.js";
import { imageSourcesFromFlags } from "../src/cli/inputs.js";
import { progressBar } from "../src/cli/progress.js";
import { openFromFlags } from "../src/cli/run-support.js";
import { recordedRun } from "../src/jobs/run-record.js";
import type { PathList } from "../src/sources/path-list.js";
import { ResultStore } from "../src/io/result-store.js";
import { defaultModel, imageToTextTasks } from "../src/models/registry.js";
import { imageToText, type ImageFailure, type ImageToTextSummary, type ImageToTextResult } from "../src/jobs/image-to-text.js";
import { versions } from "../src/version.js";
import { isTarPath, isTarSamplePath } from "../src/sources/tar.js";

export default class Florence extends EmbCommand {
  static override summary = "Run a Florence-2 task (caption, detection, OCR, grounding, segmentation) on images; JSON out.";
  static override description =
    `TASK is one of ${imageToTextTasks.names.join(" ")}. Tasks that take text (phrase grounding, referring expressions, open-vocabulary detection, the region tasks) need --text. Images are resized to 768x768 as the Python processor does, encoded in dynamic batches, and decoded with the model's beam search (num_beams, no_repeat_ngram_size and early_stopping from its generation_config.json, overridable), with results equal to transformers' generate() and Florence2Processor.post_process_generation. One image prints its result as JSON; folders write <out>/results.jsonl (resumable) and, with --draw, the images with their boxes, polygons and labels drawn on them.`;

  static override examples = [
    '<%= config.bin %> <%= command.id %> "<CAPTION>" photo.jpg',
    '<%= config.bin %> <%= command.id %> "<OD>" ./photos --out od-results --draw od-pictures',
    '<%= config.bin %> <%= command.id %> "<CAPTION_TO_PHRASE_GROUNDING>" photo.jpg --text "A green car parked in front of a yellow building."',
    '<%= config.bin %> <%= command.id %> "<MORE_DETAILED_CAPTION>" ./photos --num-beams 1 --max-new-tokens 256 --json',
  ];

  static override enableJsonFlag = true;
  static override strict = false;

  static override args = {
    task: Args.string({ description: `the task token, e.g. "<CAPTION>" or "<OD>"`, required: true }),
    // ignoreStdin: standard input is a path list only with --files-from -.
    inputs: Args.string({ description: "image files, folders or webdataset .tar shards (or --files-from)", ignoreStdin: true }),
  };

  static override flags = {
    text: Flags.string({ description: "the task's text input (a caption, an expression, or a region as four <loc_N> tokens)" }),
    ...modelFlags,
    model: Flags.string({
      char: "m",
      description: "a model directory, or a hub repository id downloaded into the Hugging Face cache",
      default: defaultModel("image-to-text"),
    }),
    ...generationFlags,
    ...batchingFlags(4),
    ...imageInputFlags,
    ...filesFromFlags,
    ...shardFlags,
    out: Flags.string({ char: "o", description: "output folder for folders of images (results.jsonl, errors.jsonl, run.json)", default: "florence-results" }),
    draw: Flags.string({ description: "also write each image with its result drawn on it, as PNG, into this folder" }),
    progress: Flags.boolean({ description: "show progress bars on stderr", default: true, allowNo: true }),
  };

  async run(): Promise<Record<string, unknown>> {
    const { args, argv, flags } = await this.parse(Florence);
    const sources = await imageSourcesFromFlags((argv as string[]).slice(1), flags, (m) => this.logToStderr(m));
    const { inputs } = sources;
    const prompt = imageToTextTasks.prompt(args.task, flags.text);
    const overrides = generationOverrides(flags);

    const batching = batcherSettings(flags);
    const showProgress = flags.progress && !this.jsonEnabled();
    const { model, resolved, source } = await openFromFlags("image-to-text", flags, showProgress, (m) => this.usageError(m));
    let settings;
    try {
      settings = model.settings(overrides);
    } catch (error) {
      await model.release();
      throw error;
    }
    const pipeline = {
      ...sources,
      task: args.task,
      text: flags.text,
      prompt: model.encodePrompt(prompt),
      settings,
      extensions: extensionList(flags.ext),
      decode: decodeOptions(flags),
      workers: batching.workers,
      batcher: { maxBatchSize: batching.maxBatchSize, maxQueueDelayUs: batching.maxQueueDelayUs },
    };
    let warnedTar = false;
    const drawRoot = flags.draw === undefined ? "" : await commonFolder(inputs, sources.list);
    const draw = async (r: ImageToTextResult) => {
      if (!flags.draw) return;
      if (isTarSamplePath(r.path)) {
        if (!warnedTar) this.warn("--draw draws image files only; samples read from .tar shards are not drawn");
        warnedTar = true;
        return;
      }
      await imageToTextTasks.draw(r.path, r.result, drawnPath(flags.draw, drawRoot, r.path));
    };

    const single =
      inputs.length === 1 && !sources.list && !sources.shard && !isTarPath(inputs[0]) && !(await stat(inputs[0]).catch(() => undefined))?.isDirectory();
    if (single) {
      let found: ImageToTextResult | undefined;
      let failure: ImageFailure | undefined;
      try {
        await imageToText(model, {
          ...pipeline,
          workers: 1,
          onResult: async (r) => {
            found = r;
            await draw(r);
          },
          onFailure: (f) => (failure = f),
        });
      } finally {
        await model.release();
      }
      if (failure) throw new InputFailedError(`${failure.path}: ${failure.error}`);
      if (!this.jsonEnabled()) this.log(JSON.stringify(found!.result));
      return found!.result;
    }

    const fingerprint = { ...source, dtype: model.info.dtype, task: args.task, text: flags.text ?? null, settings, ...decodeFingerprint(flags) };
    const store = ResultStore.open<ImageToTextResult>(flags.out, fingerprint, sources.shard ?? null);
    const bar = progressBar(args.task, "img", showProgress);
    const runInfo = { command: "florence", fingerprint, model: { spec: flags.model, ...resolved, ...model.info }, versions: versions() };
    const { result, rows, status } = await recordedRun<ImageToTextSummary>(
      store,
      runInfo,
      (m) => this.warn(m),
      (signal) =>
        imageToText(model, {
          ...pipeline,
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
          onStart: (total) => bar.start(total),
          onProgress: () => bar.tick(),
        }),
      async () => {
        bar.stop();
        await model.release();
      },
    );
    if (!this.jsonEnabled()) {
      const rate = result.processed / Math.max(result.seconds, 1e-9);
      this.log(
        `${status}: ${result.processed} processed, ${result.unchanged} unchanged, ${result.failed} failed of ${result.total} ` +
          `in ${result.seconds.toFixed(1)} s (${rate.toFixed(2)} images/s, ${model.info.provider}); ${rows} results in ${join(flags.out, "results.jsonl")}`,
      );
      if (result.failed > 0) this.log(`failed files and reasons: ${join(flags.out, "errors.jsonl")}`);
    }
    process.exitCode = runStatus(result);
    return { ...result, out: flags.out, rows };
  }
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
