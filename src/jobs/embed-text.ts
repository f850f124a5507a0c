/**
 * `emb embed text` as a configuration of the runner: captions (or id rows) -> tokenisation ->
 * dynamic batcher -> text embedder -> embedding store, in input order. Tokenising is cheap, so
 * it runs on the main thread. A batch the model fails on is recorded in errors.jsonl (by line)
 * and the rest go on.
 */
import { createHash } from "node:crypto";
import type { BatcherOptions } from "../batching/batcher.js";
import type { EmbeddingStore, StoredRecord } from "../io/embedding-store.js";
import type { TextEmbedder } from "../models/types.js";
import { l2normalize } from "../runtime/vectors.js";
import { inShard, type Shard } from "../sources/shard.js";
import { Runner, runInOrder, type Prepared, type RunCounts } from "../pipeline/runner.js";
import { StageTimer } from "../pipeline/timing.js";

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
