/**
 * The `emb coco eval` job: every annotated image captioned through Florence-2 (the `emb florence`
 * pipeline), each caption appended to the COCO results file as it arrives (images already in
 * the file are skipped, so a killed run resumes); then the results scored and the reports written.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type { BatcherOptions } from "../batching/batcher.js";
import type { GenerationOverrides, GenerationSettings } from "../generation/settings.js";
import { checkOutputFolder, makeFolder } from "../io/directories.js";
import { imageToTextTasks } from "../models/registry.js";
import type { ImageToText } from "../models/types.js";
import { imageToText, type ImageFailure, type ImageToTextSummary } from "./image-to-text.js";
import { readAnnotations, readResults, type CocoAnnotations } from "../eval/coco/annotations.js";
import { evaluateCaptions, METRIC_GROUPS, type MetricGroup } from "../eval/coco/evaluate.js";
import { Meteor } from "../eval/coco/meteor.js";
import { describeParaphraseChoice, findParaphraseTable, ParaphraseTableError, type ParaphraseChoice } from "../eval/coco/meteor/find-paraphrase.js";
import { CocoResultsWriter } from "../eval/coco/results-file.js";
import type { ImageId } from "../eval/coco/types.js";
import type { DecodeOptions } from "../image/decode.js";
import { emptyCaptionNotes, metricsTable, seedNumbersApply, writeCocoReports } from "./coco-report.js";
import type { JobOutput } from "./job-output.js";
import { interruptible } from "./run-record.js";

/** The Florence-2 tasks whose answer is a caption. */
export const CAPTION_TASKS = ["<CAPTION>", "<DETAILED_CAPTION>", "<MORE_DETAILED_CAPTION>"];

export interface CaptionOptions {
  imagesDir: string;
  task: string;
  prompt: number[];
  settings: GenerationSettings;
  workers: number;
  /** Decoding: the pixel limit and what to do with embedded colour profiles. */
  decode?: DecodeOptions;
  batcher: BatcherOptions;
  /** Caption at most this many annotated images (the first, in the annotation file's order). */
  limit?: number;
  onStart?: (toCaption: number) => void;
  onProgress?: () => void;
  signal?: AbortSignal;
}

export interface CaptionSummary {
  /** Images captioned by this run. */
  captioned: number;
  /** Images whose caption the results file already held. */
  resumed: number;
  /** Annotated images with no file under --images, or that could not be read. */
  failures: ImageFailure[];
  tokens: number;
  seconds: number;
  interrupted: boolean;
  /** The pipeline's stage timings and batch sizes, when anything was captioned. */
  pipeline?: Pick<ImageToTextSummary, "stages" | "batching">;
}

export async function captionCocoImages(
  model: ImageToText,
  annotations: CocoAnnotations,
  writer: CocoResultsWriter,
  options: CaptionOptions,
): Promise<CaptionSummary> {
  const wanted = annotations.images.slice(0, options.limit ?? annotations.images.length);
  const failures: ImageFailure[] = [];
  const idOf = new Map<string, ImageId>();
  const inputs: string[] = [];
  let resumed = 0;
  for (const image of wanted) {
    if (writer.previous.has(image.id)) {
      resumed++;
      continue;
    }
    const path = join(options.imagesDir, image.fileName);
    if (!existsSync(path)) failures.push({ path, reason: "missing", error: `image ${image.id}: no file ${image.fileName} under ${options.imagesDir}` });
    else if (idOf.has(path)) failures.push({ path, reason: "duplicate", error: `image ${image.id} names the same file as image ${idOf.get(path)}` });
    else {
      idOf.set(path, image.id);
      inputs.push(path);
    }
  }
  options.onStart?.(inputs.length);
  if (inputs.length === 0) return { captioned: 0, resumed, failures, tokens: 0, seconds: 0, interrupted: false };
  const summary = await imageToText(model, {
    inputs,
    task: options.task,
    prompt: options.prompt,
    settings: options.settings,
    workers: options.workers,
    decode: options.decode,
    batcher: options.batcher,
    onResult: (r) => {
      const caption = r.result[options.task];
      writer.append({ image_id: idOf.get(r.path)!, caption: typeof caption === "string" ? caption : "" });
    },
    onFailure: (f) => failures.push(f),
    onProgress: options.onProgress,
    signal: options.signal,
  });
  const { processed, tokens, seconds, interrupted, stages, batching } = summary;
  return { captioned: processed, resumed, failures, tokens, seconds, interrupted, pipeline: { stages, batching } };
}

/**
 * The failures as one warning line per reason (a count and the first), not one line per image:
 * a folder missing half of val2014 would print thousands. `listedIn` says where all are listed.
 */
export function summariseFailures(failures: ImageFailure[], imagesDir: string, listedIn: string): string[] {
  const byReason = new Map<string, ImageFailure[]>();
  for (const f of failures) byReason.set(f.reason, [...(byReason.get(f.reason) ?? []), f]);
  return [...byReason].map(([reason, [first, ...rest]]) => {
    const count = rest.length === 0 ? "1 image" : `${rest.length + 1} images`;
    const example = rest.length === 0 ? `: ${first.path}` : `; first: ${first.path}`;
    const what = reason === "missing" ? `not found under ${imagesDir}${example}` : `not captioned (${reason})${example}: ${first.error}`;
    return `${count} ${what} (all listed in ${listedIn})`;
  });
}

/** Everything `emb coco eval` runs with, flags already read. */
export interface CocoEvalJob {
  annotations: string;
  /** Caption the annotated images of this folder into <out>/results.json, then score that; */
  images?: string;
  /** else score these COCO results files (or folders holding results.json): the shards of one job. */
  results?: string[];
  out: string;
  /** The metric groups, comma-separated as --metrics gives them. */
  metrics: string;
  paraphraseTable?: string;
  /** METEOR paraphrase matching at all (--no-paraphrase: off). */
  paraphrase: boolean;
  /** Score only the images that have a result instead of refusing. */
  allowMissing: boolean;
  limit?: number;
  bootstrap: number;
  seed: number;
  task: string;
  decode: DecodeOptions;
  /** Opens Florence-2 and reads its settings: only when there are images to caption, so scoring alone needs neither. */
  openCaptioner: () => Promise<Captioner>;
}

export interface Captioner {
  model: ImageToText;
  overrides: GenerationOverrides;
  workers: number;
  batcher: BatcherOptions;
}

export interface CocoEvalHooks extends JobOutput {
  usageError: (message: string) => never;
  /** Progress is shown: slow steps (reading the paraphrase table) are announced too. */
  progress: boolean;
}

export interface CocoEvalOutcome {
  /** What metrics.json holds and --json prints; only the captioning when that was interrupted. */
  report: Record<string, unknown>;
  interrupted: boolean;
  /** Annotated images that could not be captioned. */
  failed: number;
}

export async function runCocoEvalJob(job: CocoEvalJob, hooks: CocoEvalHooks): Promise<CocoEvalOutcome> {
  const groups = metricGroups(job.metrics, hooks.usageError);
  // The reports are written after scoring: a folder that cannot take them is named before.
  checkOutputFolder(job.out, "--out");
  // Chosen before captioning, so a wrong table path is reported before hours of work.
  const paraphrases = groups.includes("meteor") ? paraphraseChoice(job, hooks.usageError) : undefined;
  // The folder is made only once the inputs have been read, so a usage error writes nothing.
  const annotations = readAnnotations(job.annotations);
  let sources = job.results ?? [];
  let captioning: CaptionSummary | undefined;
  if (job.images) {
    checkImagesFolder(job.images, annotations, job, hooks.usageError);
    makeFolder(job.out);
    const resultsPath = join(job.out, "results.json");
    sources = [resultsPath];
    captioning = await captionInto(resultsPath, job.images, annotations, job, hooks);
    if (captioning.interrupted) {
      hooks.log(`interrupted: ${captioning.captioned} captioned this run, kept in ${resultsPath}; run the same command again to continue`);
      return { report: { captioning }, interrupted: true, failed: captioning.failures.length };
    }
  }
  const failures = captioning?.failures ?? [];
  const results = readResults(sources, annotations, job.allowMissing || job.limit !== undefined || failures.length > 0);
  for (const line of emptyCaptionNotes(results.empty)) hooks.note(line);
  if (paraphrases?.path && hooks.progress) hooks.note(`reading the METEOR paraphrase table ${paraphrases.path} (${paraphrases.source})`);
  const meteor = paraphrases ? await Meteor.load({ paraphraseTable: paraphrases.path ?? undefined }) : null;
  const evaluation = await evaluateCaptions(annotations.references, results.candidates, {
    groups,
    order: annotations.images.map((image) => image.id).filter((id) => results.candidates.has(id)),
    meteor,
    bootstrap: job.bootstrap,
    seed: job.seed,
  });
  const { perImage, ...summary } = evaluation;
  const meteorSettings = paraphrases && {
    paraphraseTable: paraphrases.path,
    paraphraseSource: paraphrases.source,
    ...(paraphrases.note ? { note: paraphrases.note } : {}),
  };
  const report = { annotations: job.annotations, results: sources.length === 1 ? sources[0] : sources, captioning, ...summary, meteor: meteorSettings };
  makeFolder(job.out);
  writeCocoReports(job.out, report, perImage);

  hooks.log(metricsTable(evaluation, seedNumbersApply(annotations), hooks.color));
  // No table is a warning (stderr); the table used describes the scores (stdout).
  if (paraphrases?.source === "not found") hooks.warn(describeParaphraseChoice(paraphrases));
  else if (paraphrases) hooks.log(describeParaphraseChoice(paraphrases));
  hooks.log(`${evaluation.images} images scored; metrics.json and per-image.jsonl in ${job.out}`);
  if (job.images) for (const line of summariseFailures(failures, job.images, join(job.out, "metrics.json"))) hooks.warn(line);
  return { report, interrupted: false, failed: failures.length };
}

/**
 * Refuses an --images folder that holds none of the annotated images a fresh run would caption
 * (a wrong or empty folder), before the model loads or the output folder is made.
 */
function checkImagesFolder(images: string, annotations: CocoAnnotations, job: CocoEvalJob, usageError: (message: string) => never): void {
  if (!existsSync(images) || !statSync(images).isDirectory()) usageError(`--images ${images}: no such folder; give the folder of the annotated images`);
  if (existsSync(join(job.out, "results.json"))) return; // a resume: the captions may all be there already
  const wanted = annotations.images.slice(0, job.limit ?? annotations.images.length);
  if (wanted.length === 0 || wanted.some((image) => existsSync(join(images, image.fileName)))) return;
  const fix = `give the folder that the "file_name" entries of ${job.annotations} are relative to`;
  if (readdirSync(images).length === 0) usageError(`--images ${images} is an empty folder; ${fix}`);
  const shown = wanted.slice(0, 2).map((image) => image.fileName);
  usageError(`--images ${images} holds none of the ${wanted.length} annotated images (no ${shown.join(", no ")}${wanted.length > 2 ? ", ..." : ""}); ${fix}`);
}

/** --metrics as metric groups; an unknown one is a usage error. */
function metricGroups(text: string, usageError: (message: string) => never): MetricGroup[] {
  const groups = text
    .split(",")
    .map((m) => m.trim())
    .filter(Boolean);
  const unknown = groups.filter((g) => !METRIC_GROUPS.includes(g as MetricGroup));
  if (unknown.length > 0) usageError(`--metrics ${unknown.join(",")}: unknown; choose from ${METRIC_GROUPS.join(", ")}`);
  return groups as MetricGroup[];
}

/** METEOR's paraphrase table, as --paraphrase-table, $EMB_METEOR_PARAPHRASE or pycocoevalcap give it; a named table that is not there is a usage error. */
function paraphraseChoice(job: CocoEvalJob, usageError: (message: string) => never): ParaphraseChoice {
  try {
    return findParaphraseTable({ table: job.paraphraseTable, disabled: !job.paraphrase });
  } catch (error) {
    if (error instanceof ParaphraseTableError) usageError(error.message);
    throw error;
  }
}

/** Captions the annotated images under `imagesDir` into the results file at `resultsPath`; Ctrl-C stops after the work in flight. */
async function captionInto(
  resultsPath: string,
  imagesDir: string,
  annotations: CocoAnnotations,
  job: CocoEvalJob,
  hooks: CocoEvalHooks,
): Promise<CaptionSummary> {
  const { model, overrides, workers, batcher } = await job.openCaptioner();
  const writer = CocoResultsWriter.open(resultsPath);
  const bar = hooks.phase(`captioning ${job.task}`, "img");
  const interrupt = interruptible(hooks.warn);
  try {
    const summary = await captionCocoImages(model, annotations, writer, {
      imagesDir,
      task: job.task,
      prompt: model.encodePrompt(imageToTextTasks.prompt(job.task)),
      settings: model.settings(overrides),
      workers,
      decode: job.decode,
      batcher,
      limit: job.limit,
      onStart: (n) => bar.start(n),
      onProgress: () => bar.tick(),
      signal: interrupt.signal,
    });
    bar.stop();
    if (summary.captioned > 0) {
      const rate = (summary.captioned / summary.seconds).toFixed(2);
      hooks.log(`captioned ${summary.captioned} images in ${summary.seconds.toFixed(1)} s (${rate} images/s); ${summary.resumed} already in ${resultsPath}`);
    }
    return summary;
  } finally {
    interrupt.dispose();
    writer.close();
    await model.release();
  }
}
