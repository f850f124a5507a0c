/**
 * The `emb knn eval` job: folder dataset -> image embeddings (from an `emb embed image` folder,
 * the cache, or the model) -> reference sets (the first N train images per class, or one text
 * vector per class from prompts) -> KNN evaluation per method -> reports and summary.
 */
import { join } from "node:path";
import type { BatcherOptions } from "../batching/batcher.js";
import type { ModelSource, Opened, RoleModel } from "../models/registry.js";
import type { ImageEmbedder, TextEmbedder } from "../models/types.js";
import { defaultCacheDir } from "../io/cache-dir.js";
import { packageRoot } from "../package-root.js";
import { type EmbedderRole, evaluationModels, imageEmbeddings, type LoadedModel, listSome, textEmbeddings } from "./eval-embeddings.js";
import { knnEvalSummary, writeKnnReports, type KnnRunOutput, type KnnRunResult } from "./knn-report.js";
import type { JobOutput, Phase } from "./job-output.js";
import { interruptible } from "./run-record.js";
import type { Weighting } from "../eval/knn/classifier.js";
import { chooseLabelMapping, chooseShots, DatasetError, readFolderDataset, type Split } from "../eval/knn/dataset.js";
import { evaluateKnn, type LabelledVectors, type SearchKind } from "../eval/knn/evaluate.js";
import { meanOfUnitVectors, promptsByClass, type NamesMode } from "../eval/knn/prompts.js";
import type { HnswOptions } from "../eval/knn/search.js";
import type { DecodeOptions } from "../image/decode.js";

export interface KnnRunOptions {
  data: string;
  labelsFile?: string;
  imagenetMapping: string;
  extensions: string[];
  shots?: number;
  seed?: number;
  zeroShot: boolean;
  templates: string[];
  /** Also score each template alone when several are averaged. */
  perTemplate: boolean;
  names: NamesMode;
  k: number;
  weighting: Weighting;
  search: SearchKind;
  hnsw: HnswOptions;
  agreementSample: number;
  /** `emb embed image` output folders to take vectors from: one, or the shards of one job (read as one). */
  embeddingsDirs?: string[];
  cacheDir: string;
  workers: number;
  /** Decoding: the pixel limit and what to do with embedded colour profiles. */
  decode?: DecodeOptions;
  batcher: BatcherOptions;
  loadImageModel: () => Promise<LoadedModel<ImageEmbedder>>;
  loadTextModel: () => Promise<LoadedModel<TextEmbedder>>;
  /** What identifies the image tower of the model the prompts are embedded with (see ModelSource), without loading it. */
  identifyImageModel: () => Promise<ModelSource>;
  phase: (label: string, unit: string) => Phase;
  warn: (message: string) => void;
  signal?: AbortSignal;
}

export async function runKnnEval(options: KnnRunOptions): Promise<KnnRunOutput> {
  const dataset = await readFolderDataset(options.data, options.extensions);
  const notes: string[] = [];
  const { mapping, source, path } = chooseLabelMapping(dataset, options.labelsFile, options.imagenetMapping);
  if (source === "folder-names" && options.zeroShot) notes.push("no label mapping found: classes are named by their folder names");

  for (const [label, files] of dataset.valid) if (files.length === 0) notes.push(`valid/${label} has no images`);
  let references: Split | undefined;
  if (options.shots !== undefined) {
    if (!dataset.train) throw new DatasetError(`${options.data}/train: no such folder; few-shot needs <root>/train/<label>/* (or use --zero-shot alone)`);
    references = chooseShots(dataset.train, options.shots, options.seed);
    const short = [...references].filter(([, files]) => files.length < options.shots!);
    const empty = short.filter(([, files]) => files.length === 0).map(([label]) => label);
    const few = short.filter(([, files]) => files.length > 0).map(([label, files]) => `${label} (${files.length})`);
    if (empty.length > 0) notes.push(`train classes with no images, not in the few-shot index: ${listSome(empty)}`);
    if (few.length > 0) notes.push(`train classes with fewer than ${options.shots} images, all of them used: ${listSome(few)}`);
  }

  const validFiles = [...dataset.valid].flatMap(([label, files]) => files.map((file) => ({ file, label })));
  const trainFiles = references ? [...references].flatMap(([label, files]) => files.map((file) => ({ file, label }))) : [];
  const images = await imageEmbeddings(
    [...new Set([...validFiles, ...trainFiles].map((f) => f.file))],
    { ...options, sameModelAs: options.zeroShot ? "--zero-shot embeds the prompts" : undefined },
    notes,
    dataset.bytes,
  );
  const failures = [...images.failed].map(([path, f]) => ({ path, ...f }));
  if (failures.length > 0) notes.push(`${failures.length} image(s) could not be embedded and are left out (see failures)`);

  const result: KnnRunResult = {
    data: options.data,
    mapping: { source, path, classes: mapping.size },
    images: {
      train: trainFiles.length,
      valid: validFiles.length,
      fromEmbeddingsFolder: images.fromFolder,
      fromCache: images.reused,
      embedded: images.embedded,
      failed: failures.length,
    },
    failures,
    notes,
    methods: [],
    interrupted: images.interrupted,
  };
  const predictions: KnnRunOutput["predictions"] = [];
  if (images.interrupted) return { result, predictions, mapping };

  const withVectors = (files: { file: string; label: string }[]) => files.filter((f) => images.vectors.has(f.file));
  const queryFiles = withVectors(validFiles);
  const queries = { vectors: queryFiles.map((f) => images.vectors.get(f.file)!), labels: queryFiles.map((f) => f.label), ids: queryFiles.map((f) => f.file) };
  let fallbackNoted = false;
  const evaluate = async (method: string, refs: LabelledVectors, template?: string) => {
    const bar = options.phase(`${method} search`, "queries");
    bar.start(queries.vectors.length);
    const evaluation = await evaluateKnn(refs, queries, {
      k: options.k,
      weighting: options.weighting,
      search: options.search,
      hnsw: options.hnsw,
      agreementSample: options.agreementSample,
      onQuery: () => bar.tick(),
      onFallback: (notice) => {
        // One line per run (printed with the notes), however many methods are evaluated.
        if (!fallbackNoted) notes.push(notice);
        fallbackNoted = true;
      },
    });
    bar.stop();
    if (evaluation.k < options.k) notes.push(`${method}: k lowered from ${options.k} to ${evaluation.k}, the number of references`);
    if (evaluation.excluded.length > 0) {
      const labels = evaluation.excluded.map((e) => `${e.label} (${e.queries})`);
      notes.push(`${method}: valid classes with no reference, their images not scored: ${listSome(labels)}`);
    }
    const { predictions: rows, ...summary } = evaluation;
    result.methods.push({ method, template, ...summary });
    predictions.push({ method, template, predictions: rows });
  };

  if (references) {
    const refs = withVectors(trainFiles);
    if (refs.length === 0) {
      throw new DatasetError(`no train image could be embedded (see the failures): nothing to index for few-shot; fix those images, or use --zero-shot alone`);
    }
    await evaluate(`${options.shots}-shot`, { vectors: refs.map((f) => images.vectors.get(f.file)!), labels: refs.map((f) => f.label) });
  }

  if (options.zeroShot) {
    const labels = [...new Set([...dataset.valid.keys(), ...(dataset.train?.keys() ?? [])])];
    const unnamed = labels.filter((l) => !mapping.has(l));
    if (unnamed.length > 0) notes.push(`classes the label mapping does not name, left out of zero-shot: ${listSome(unnamed)}`);
    const sets = options.perTemplate && options.templates.length > 1 ? [options.templates, ...options.templates.map((t) => [t])] : [options.templates];
    const prompts = sets.map((templates) => promptsByClass(labels, mapping, templates, options.names));
    const texts = await textEmbeddings(
      prompts.flatMap((p) => [...p.values()].flat()),
      options,
      "embedding prompts",
      "prompts",
    );
    if (texts.interrupted) {
      result.interrupted = true;
      return { result, predictions, mapping };
    }
    for (const [i, byClass] of prompts.entries()) {
      const classes = [...byClass.keys()];
      const vectors = classes.map((label) => meanOfUnitVectors(byClass.get(label)!.map((p) => texts.vectors.get(p)!)));
      await evaluate("zero-shot", { vectors, labels: classes }, sets[i].join(" | "));
    }
  }
  return { result, predictions, mapping };
}

/** Everything `emb knn eval` runs with, flags already read; the models open only when needed. */
export interface KnnEvalJob
  extends Omit<KnnRunOptions, "imagenetMapping" | "cacheDir" | "loadImageModel" | "loadTextModel" | "identifyImageModel" | "phase" | "warn" | "signal"> {
  /** The embedding cache; default $EMB_CACHE_DIR, else $XDG_CACHE_HOME/emb, else ~/.cache/emb. */
  cacheDir?: string;
  /** The folder for report.json, per-class.csv and predictions.jsonl. */
  out: string;
  /** Confused class pairs shown per method. */
  confusions: number;
  /** Opens the model filling a role; the job releases it. */
  open: <R extends EmbedderRole>(role: R) => Promise<Opened<RoleModel[R]>>;
  /** Identifies the model filling a role without loading it. */
  identify: (role: EmbedderRole) => Promise<ModelSource>;
}

export type KnnEvalOutcome = KnnRunResult & { out: string };

/** Runs the evaluation (Ctrl-C stops it after the work in flight), writes the reports and prints the summary. */
export async function runKnnEvalJob(job: KnnEvalJob, hooks: JobOutput): Promise<KnnEvalOutcome> {
  const models = evaluationModels(job.open, job.decode);
  const interrupt = interruptible(hooks.warn);
  let output: KnnRunOutput;
  try {
    output = await runKnnEval({
      ...job,
      imagenetMapping: join(packageRoot(), "data", "LOC_synset_mapping.txt"),
      cacheDir: job.cacheDir ?? defaultCacheDir(),
      loadImageModel: models.loadImageModel,
      loadTextModel: models.loadTextModel,
      identifyImageModel: () => job.identify("image-embedder"),
      phase: hooks.phase,
      warn: hooks.warn,
      signal: interrupt.signal,
    });
  } finally {
    interrupt.dispose();
    await models.releaseAll();
  }
  writeKnnReports(job.out, output);
  for (const note of output.result.notes) hooks.note(`note: ${note}`);
  for (const line of knnEvalSummary(output, job.out, job.confusions, hooks.color)) hooks.log(line);
  return { ...output.result, out: job.out };
}
