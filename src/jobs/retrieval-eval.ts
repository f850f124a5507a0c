/**
 * The `emb retrieval eval` job: caption annotations -> image vectors (an `emb embed image` folder,
 * the cache, or the model) and caption vectors (an `emb embed text` folder, the cache, or the
 * model) -> text->image and image->text recall@k (CLIP_benchmark's protocol) -> report.json in
 * CLIP_benchmark's result shape, queries.jsonl (every query's rank) and a table.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Table from "cli-table3";
import type { BatcherOptions } from "../batching/batcher.js";
import { readCaptionDataset, type AnnotationFormat } from "../eval/retrieval/dataset.js";
import { recallAt, retrievalRanks } from "../eval/retrieval/recall.js";
import type { DecodeOptions } from "../image/decode.js";
import { defaultCacheDir } from "../io/cache-dir.js";
import { makeFolder } from "../io/directories.js";
import { OutputMismatchError } from "../io/output-folder.js";
import type { ModelSource, Opened, RoleModel } from "../models/registry.js";
import type { TextRecord } from "./embed-text.js";
import { readEmbeddingFolders } from "./embedding-cache.js";
import { type EmbedderRole, evaluationModels, imageEmbeddings, textEmbeddings } from "./eval-embeddings.js";
import type { JobOutput } from "./job-output.js";
import { interruptible } from "./run-record.js";

export interface RetrievalEvalJob {
  /** The annotation file and the folder its image paths are relative to. */
  annotations: string;
  images: string;
  /** Karpathy's split to evaluate. */
  split: string;
  ks: number[];
  /** `emb embed image` folders to take image vectors from (the shards of one job read as one). */
  embeddingsDirs?: string[];
  /** An `emb embed text` folder (or shards) to take caption vectors from, matched by content. */
  textEmbeddingsDirs?: string[];
  cacheDir?: string;
  workers: number;
  decode?: DecodeOptions;
  batcher: BatcherOptions;
  threads?: number;
  out: string;
  open: <R extends EmbedderRole>(role: R) => Promise<Opened<RoleModel[R]>>;
  identify: (role: EmbedderRole) => Promise<ModelSource>;
}

/** report.json: CLIP_benchmark's result fields first, then what emb adds. */
export interface RetrievalReport {
  dataset: string;
  model: string;
  pretrained: string | null;
  task: "zeroshot_retrieval";
  metrics: Record<string, number>;
  language: "en";
  format: AnnotationFormat;
  split?: string;
  images: { annotated: number; evaluated: number; fromEmbeddingsFolder: number; fromCache: number; embedded: number; failed: number };
  captions: { annotated: number; evaluated: number; fromTextEmbeddingsFolder: number };
  failures: { path: string; reason: string; error: string }[];
  notes: string[];
  interrupted: boolean;
}

export type RetrievalEvalOutcome = RetrievalReport & { out: string };

const captionSha = (text: string) => createHash("sha256").update(text).digest("hex");

/** Caption vectors from `emb embed text` folders, by content, and the captions they lack. */
function captionsFromFolders(
  dirs: string[],
  texts: string[],
): { vectors: Map<string, Float32Array>; missing: string[]; fingerprint?: Record<string, unknown> } {
  const folder = readEmbeddingFolders(dirs);
  try {
    const bySha = new Map((folder.records as unknown as TextRecord[]).map((r) => [r.sha256, r.row]));
    const vectors = new Map<string, Float32Array>();
    const missing: string[] = [];
    for (const text of new Set(texts)) {
      const row = bySha.get(captionSha(text));
      if (row === undefined) missing.push(text);
      else vectors.set(text, folder.vector(row));
    }
    return { vectors, missing, fingerprint: folder.fingerprint };
  } finally {
    folder.close?.();
  }
}

/** Caption vectors from a text folder must come from the model the images are (or were) embedded with. */
async function checkCaptionModel(job: RetrievalEvalJob, captions: Record<string, unknown> | undefined): Promise<void> {
  const dir = job.textEmbeddingsDirs!.join(", ");
  const runJson = job.embeddingsDirs?.length ? join(job.embeddingsDirs[0], "run.json") : undefined;
  const images = runJson
    ? ((existsSync(runJson) ? JSON.parse(readFileSync(runJson, "utf8")).fingerprint : undefined) as Record<string, unknown> | undefined)
    : await job.identify("image-embedder");
  const same = captions && images && captions.model === images.model && (captions.commit ?? null) === (images.commit ?? null);
  if (!same) {
    throw new OutputMismatchError(
      `${dir} holds captions embedded with ${String(captions?.model ?? "an unrecorded model")}, but the images ${runJson ? "were" : "are"} embedded with ` +
        `${String(images?.model ?? "an unrecorded model")}: image and text vectors of different models cannot be compared; embed both with one --model`,
    );
  }
}

export async function runRetrievalEvalJob(job: RetrievalEvalJob, hooks: JobOutput): Promise<RetrievalEvalOutcome> {
  const dataset = readCaptionDataset(job.annotations, job.images, job.split);
  const notes: string[] = [];
  const models = evaluationModels(job.open, job.decode);
  const cacheDir = job.cacheDir ?? defaultCacheDir();
  const interrupt = interruptible(hooks.warn);
  const texts = dataset.captions.map((c) => c.text);
  let report: RetrievalReport;
  let ranks: { textToImage: Int32Array; imageToText: Int32Array } | undefined;
  let kept: { images: number[]; captions: number[] } = { images: [], captions: [] };
  try {
    const external = job.textEmbeddingsDirs?.length ? captionsFromFolders(job.textEmbeddingsDirs, texts) : undefined;
    if (external) {
      await checkCaptionModel(job, external.fingerprint);
      if (external.missing.length > 0) {
        throw new OutputMismatchError(
          `${job.textEmbeddingsDirs!.join(", ")} lacks ${external.missing.length} of the ${new Set(texts).size} captions (e.g. ${JSON.stringify(external.missing[0])}): ` +
            "embed them there with emb embed text, or drop --text-embeddings",
        );
      }
    }
    const images = await imageEmbeddings(
      dataset.images,
      {
        embeddingsDirs: job.embeddingsDirs,
        sameModelAs: external ? undefined : "the captions are embedded",
        cacheDir,
        workers: job.workers,
        decode: job.decode,
        batcher: job.batcher,
        loadImageModel: models.loadImageModel,
        identifyImageModel: () => job.identify("image-embedder"),
        phase: hooks.phase,
        signal: interrupt.signal,
      },
      notes,
    );
    let textModel: string | undefined;
    let captionVectors = external?.vectors;
    if (!captionVectors && !images.interrupted) {
      const embedded = await textEmbeddings(
        texts,
        {
          cacheDir,
          batcher: job.batcher,
          loadTextModel: models.loadTextModel,
          phase: hooks.phase,
          signal: interrupt.signal,
        },
        "embedding captions",
        "captions",
      );
      captionVectors = embedded.interrupted ? undefined : embedded.vectors;
      textModel = String(embedded.model);
    }
    const failures = [...images.failed].map(([path, f]) => ({ path, ...f }));
    kept = {
      images: dataset.images.flatMap((path, i) => (images.vectors.has(path) ? [i] : [])),
      captions: dataset.captions.flatMap((c, i) => (images.vectors.has(dataset.images[c.image]) ? [i] : [])),
    };
    if (failures.length > 0) {
      notes.push(
        `${failures.length} image(s) could not be embedded: they and their ${dataset.captions.length - kept.captions.length} caption(s) are left out (see failures)`,
      );
    }
    const interrupted = images.interrupted || !captionVectors;
    const model = textModel ?? String(external?.fingerprint?.model ?? "unknown");
    report = {
      dataset: job.annotations,
      model,
      pretrained: null,
      task: "zeroshot_retrieval",
      metrics: {},
      language: "en",
      format: dataset.format,
      ...(dataset.format === "karpathy" ? { split: job.split } : {}),
      images: {
        annotated: dataset.images.length,
        evaluated: kept.images.length,
        fromEmbeddingsFolder: images.fromFolder,
        fromCache: images.reused,
        embedded: images.embedded,
        failed: failures.length,
      },
      captions: { annotated: dataset.captions.length, evaluated: kept.captions.length, fromTextEmbeddingsFolder: external ? kept.captions.length : 0 },
      failures,
      notes,
      interrupted,
    };
    if (!interrupted && kept.images.length > 0) {
      const position = new Map(kept.images.map((image, at) => [image, at]));
      ranks = await retrievalRanks(
        {
          images: kept.images.map((i) => images.vectors.get(dataset.images[i])!),
          texts: kept.captions.map((c) => captionVectors!.get(dataset.captions[c].text)!),
          textImage: kept.captions.map((c) => position.get(dataset.captions[c].image)!),
        },
        job.threads,
      );
      for (const k of job.ks) {
        report.metrics[`image_retrieval_recall@${k}`] = recallAt(ranks.textToImage, k);
        report.metrics[`text_retrieval_recall@${k}`] = recallAt(ranks.imageToText, k);
      }
      const beyond = job.ks.filter((k) => k >= kept.images.length);
      if (beyond.length > 0) notes.push(`recall@${beyond.join(", @")} counts every text->image query a hit: there are only ${kept.images.length} images`);
    }
  } finally {
    interrupt.dispose();
    await models.releaseAll();
  }
  writeRetrievalReports(job.out, report, dataset, kept, ranks);
  for (const note of report.notes) hooks.note(`note: ${note}`);
  for (const line of retrievalSummary(report, job.ks, job.out)) hooks.log(line);
  return { ...report, out: job.out };
}

/** report.json and queries.jsonl: each query's rank of its best positive (0: first), to find the misses. */
function writeRetrievalReports(
  dir: string,
  report: RetrievalReport,
  dataset: ReturnType<typeof readCaptionDataset>,
  kept: { images: number[]; captions: number[] },
  ranks?: { textToImage: Int32Array; imageToText: Int32Array },
): void {
  makeFolder(dir);
  writeFileSync(join(dir, "report.json"), `${JSON.stringify(report, null, 2)}\n`);
  if (!ranks) return;
  const lines = [
    ...kept.captions.map((c, q) =>
      JSON.stringify({ query: "text", caption: dataset.captions[c].text, image: dataset.images[dataset.captions[c].image], rank: ranks.textToImage[q] }),
    ),
    ...kept.images.map((i, q) => JSON.stringify({ query: "image", image: dataset.images[i], rank: ranks.imageToText[q] })),
  ];
  writeFileSync(join(dir, "queries.jsonl"), lines.map((l) => `${l}\n`).join(""));
}

/** The recall table and where the reports are. */
export function retrievalSummary(report: RetrievalReport, ks: number[], out: string): string[] {
  if (report.interrupted) return [`interrupted before scoring: nothing measured (${join(out, "report.json")} records what was done)`];
  if (Object.keys(report.metrics).length === 0) return ["no image could be embedded: nothing to score"];
  const table = new Table({ head: ["", ...ks.map((k) => `R@${k}`)], style: { head: [], border: [] } });
  const percent = (x: number) => (100 * x).toFixed(2);
  table.push(["text -> image", ...ks.map((k) => percent(report.metrics[`image_retrieval_recall@${k}`]))]);
  table.push(["image -> text", ...ks.map((k) => percent(report.metrics[`text_retrieval_recall@${k}`]))]);
  const { images, captions } = report;
  return [
    `${images.evaluated} images, ${captions.evaluated} captions (${report.model})`,
    table.toString(),
    `reports: ${join(out, "report.json")}, ${join(out, "queries.jsonl")}`,
  ];
}
