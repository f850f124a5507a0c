/**
 * The `emb embed text` job: where its texts come from, what the output folder records
 * (fingerprint, run.json), the run itself as a configuration of the runner (captions or id rows
 * -> tokenisation -> dynamic batcher -> text embedder -> embedding store, in input order), and its
 * summary line. Tokenising is cheap, so it runs on the main thread. A batch the model fails on is
 * recorded in errors.jsonl (by line) and the rest go on.
 */
import { createHash } from "node:crypto";
import type { BatcherOptions } from "../batching/batcher.js";
import type { ClipRetrievalLayout } from "../io/clip-retrieval-layout.js";
import { TEXT_METADATA, type EmbeddingStore, type StoredRecord } from "../io/embedding-store.js";
import type { Opened } from "../models/registry.js";
import type { TextEmbedder } from "../models/types.js";
import { l2normalize } from "../runtime/vectors.js";
import { inShard, type Shard } from "../sources/shard.js";
import { parseCaptionFile, parseIdRows, readInputFile, type Caption } from "../sources/text.js";
import { Runner, runInOrder, type Prepared, type RunCounts } from "../pipeline/runner.js";
import { StageTimer } from "../pipeline/timing.js";
import { embeddingSummary, releasedOnError, runEmbedding, type EmbeddingOutcome } from "./embed-run.js";
import type { JobHooks } from "./hooks.js";

/** One input: a caption, or a row of token ids given as they are. */
export interface TextInput {
  line: number;
  text?: string;
  ids?: number[];
}

export interface TextRecord extends StoredRecord {
  line: number;
  /** The caption; null for rows given as token ids. */
  text: string | null;
  sha256: string;
  truncated: boolean;
}

/** A caption's resume key: its position and content, so repeated captions keep their rows. */
export const textKey = (r: Pick<TextRecord, "line" | "sha256">) => `${r.line}:${r.sha256}`;

/** The SHA-256 of a caption's text (or of an id row's JSON): half of its key. */
const inputSha256 = (input: TextInput) =>
  createHash("sha256")
    .update(input.text ?? JSON.stringify(input.ids))
    .digest("hex");

/** The inputs of one shard: each caption goes where its key (line and content) hashes to. */
export function textsOfShard(inputs: TextInput[], shard: Shard | undefined): TextInput[] {
  return shard ? inputs.filter((input) => inShard(textKey({ line: input.line, sha256: inputSha256(input) }), shard)) : inputs;
}

export interface EmbedTextsOptions {
  store: EmbeddingStore<TextRecord>;
  normalize: boolean;
  batcher: BatcherOptions;
  onProgress?: () => void;
  signal?: AbortSignal;
}

export interface EmbedTextsResult extends Omit<RunCounts, "done" | "skipped"> {
  total: number;
  embedded: number;
  unchanged: number;
  /** Lines (0-based) of captions longer than the model's text length. */
  truncatedLines: number[];
}

/** Captions waiting for the model at most: tokenising is cheap, so two batches keep it busy. */
const readAhead = (batching: BatcherOptions) => 2 * batching.maxBatchSize;

/** The caption (or the id row) in errors.jsonl: its 1-based line. */
const inputName = (input: TextInput) => `line ${input.line + 1}`;

export async function embedTexts(model: TextEmbedder, inputs: TextInput[], options: EmbedTextsOptions): Promise<EmbedTextsResult> {
  const { store } = options;
  const truncatedLines: number[] = [];
  const normalize = options.normalize && !model.info.normalizedByModel;
  const timer = new StageTimer();
  const runner = new Runner(
    {
      prepare: async (input: TextInput): Promise<Prepared<number[], TextRecordFields>> => {
        const { ids, truncated } = timer.timeSync("tokenize", () =>
          input.ids ? { ids: input.ids, truncated: false } : model.tokenizer.encode(input.text ?? ""),
        );
        if (truncated) truncatedLines.push(input.line);
        const sha256 = inputSha256(input);
        const record = { line: input.line, text: input.text ?? null, sha256, truncated };
        if (store.recordFor(textKey(record))) return { kind: "skipped" };
        return { kind: "ready", input: ids, meta: record };
      },
      infer: (rows: number[][]) => model.embedIds(rows),
      post: (vector: Float32Array, record: TextRecordFields) => ({ vector: normalize ? l2normalize(vector) : vector, record }),
    },
    options.batcher,
    timer,
  );
  const now = () => new Date().toISOString();
  const counts = await runInOrder(
    runner,
    inputs,
    {
      done: (_, { vector, record }) => {
        store.add(vector, record);
      },
      failed: (input, failure) => store.addError({ path: inputName(input), ...failure, time: now() }),
    },
    { readAhead: readAhead(options.batcher), signal: options.signal, onProgress: () => options.onProgress?.() },
  );
  const { done, skipped, ...rest } = counts;
  return { total: inputs.length, embedded: done, unchanged: skipped, truncatedLines, ...rest };
}

type TextRecordFields = Omit<TextRecord, "row">;

/**
 * The texts of a run: captions as they are, or id rows as the file's text with its name, parsed
 * once the model is open (their length and vocabulary are the model's).
 */
export type TextSource = { captions: Caption[] } | { ids: string; name: string };

/**
 * A file of texts, read before any model is opened: id rows when `ids`, else captions (.txt one
 * per line, .jsonl `field` of each line). `label` names the file's option in errors.
 */
export function readTextSource(path: string, options: { ids?: boolean; field?: string; label: string }): TextSource {
  const content = readInputFile(path, options.label);
  return options.ids ? { ids: content, name: path } : { captions: parseCaptionFile(content, path, options.field ?? "text") };
}

/** Everything `emb embed text` runs with, flags and inputs already read. */
export interface EmbedTextJob {
  opened: Opened<TextEmbedder>;
  /** The model as the user named it (--model), for run.json. */
  modelSpec: string | undefined;
  texts: TextSource;
  /** Only this shard's texts. */
  shard?: Shard;
  out: string;
  normalize: boolean;
  clipRetrieval?: ClipRetrievalLayout;
  batcher: BatcherOptions;
}

export type EmbedTextOutcome = EmbedTextsResult & EmbeddingOutcome;

/** What the folder's embeddings depend on: another run into the same folder must match it. */
export function embedTextFingerprint(job: Pick<EmbedTextJob, "opened" | "normalize">): Record<string, unknown> {
  const { model, source } = job.opened;
  return {
    ...source,
    graph: model.info.graph,
    tokenizer: { length: model.info.length, padding: "max_length", ...model.info.tokenizer },
    normalize: job.normalize || model.info.normalizedByModel,
  };
}

/** The job's inputs: its texts (id rows validated against the model), this shard's only. */
function textInputs(job: EmbedTextJob): TextInput[] {
  const { info } = job.opened.model;
  const { texts } = job;
  const inputs = "ids" in texts ? parseIdRows(texts.ids, texts.name, info.length, info.vocabSize).map((ids, line) => ({ line, ids })) : texts.captions;
  return textsOfShard(inputs, job.shard);
}

/**
 * Runs the job into its folder as a recorded run; the model is released at the end. Captions
 * that did not fit the model's tokens are warned about after the run, by line.
 */
export async function runEmbedTextJob(job: EmbedTextJob, hooks: JobHooks): Promise<EmbedTextOutcome> {
  const { model } = job.opened;
  const inputs = await releasedOnError(model, () => textInputs(job));
  const run = {
    opened: job.opened,
    command: "embed text",
    modelSpec: job.modelSpec,
    out: job.out,
    fingerprint: embedTextFingerprint(job),
    keyOf: textKey,
    shard: job.shard,
    outputs: { metadata: TEXT_METADATA, clipRetrieval: job.clipRetrieval },
    batcher: job.batcher,
  };
  const outcome = await runEmbedding<TextRecord, EmbedTextsResult>(run, hooks, (store, signal) => {
    hooks.onStart?.(inputs.length);
    return embedTexts(model, inputs, { store, normalize: job.normalize, batcher: job.batcher, onProgress: hooks.onProgress, signal });
  });
  const truncated = outcome.truncatedLines;
  if (truncated.length > 0) {
    const lines = truncated
      .slice(0, 5)
      .map((l) => l + 1)
      .join(", ");
    hooks.warn(
      `${truncated.length} caption(s) were longer than ${model.info.length} tokens and were truncated (line ${lines}${truncated.length > 5 ? ", ..." : ""})`,
    );
  }
  return outcome;
}

/** The lines printed when the job ends. */
export function embedTextSummary(o: EmbedTextOutcome, provider: string): string[] {
  return embeddingSummary(o, provider, "captions", "captions");
}
