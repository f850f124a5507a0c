/**
 * `emb embed text`, wired: captions (or id rows) -> SigLIP tokenisation -> dynamic batcher ->
 * text tower -> embedding store, results written in input order. Tokenising is cheap, so it
 * runs on the main thread; the batcher keeps the model busy with full batches.
 */
import { createHash } from "node:crypto";
import { DynamicBatcher, type BatcherOptions, type BatchStats } from "../batching/batcher.js";
import type { EmbeddingStore, StoredRecord } from "../io/embedding-store.js";
import type { TextEmbedder } from "../models/types.js";
import { l2normalize } from "./normalize.js";
import { StageTimer } from "./timing.js";

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
export const textKey = (r: Omit<TextRecord, "row">) => `${r.line}:${r.sha256}`;

export interface EmbedTextsOptions {
  store: EmbeddingStore<TextRecord>;
  normalize: boolean;
  batcher: BatcherOptions;
  onProgress?: () => void;
  signal?: AbortSignal;
}

export interface EmbedTextsResult {
  total: number;
  embedded: number;
  unchanged: number;
  /** Lines (0-based) of captions longer than the model's text length. */
  truncatedLines: number[];
  interrupted: boolean;
  seconds: number;
  stages: ReturnType<StageTimer["summary"]>;
  batching: BatchStats;
}

export async function embedTexts(model: TextEmbedder, inputs: TextInput[], options: EmbedTextsOptions): Promise<EmbedTextsResult> {
  const started = performance.now();
  const timer = new StageTimer();
  const { store } = options;
  const batcher = new DynamicBatcher<number[], Float32Array>(
    (rows) => timer.time("inference", () => model.embedIds(rows)),
    options.batcher,
  );
  const result = { embedded: 0, unchanged: 0, truncatedLines: [] as number[] };
  let writeChain = Promise.resolve();
  for (const input of inputs) {
    if (options.signal?.aborted) break;
    const { ids, truncated } = timer.timeSync("tokenize", () =>
      input.ids ? { ids: input.ids, truncated: false } : model.tokenizer.encode(input.text ?? ""),
    );
    if (truncated) result.truncatedLines.push(input.line);
    const sha256 = createHash("sha256")
      .update(input.text ?? JSON.stringify(ids))
      .digest("hex");
    const record = { line: input.line, text: input.text ?? null, sha256, truncated };
    if (store.recordFor(textKey(record))) {
      result.unchanged++;
      options.onProgress?.();
      continue;
    }
    const done = batcher.submit(ids);
    writeChain = writeChain.then(async () => {
      const vector = await done;
      timer.timeSync("write", () =>
        store.add(options.normalize && !model.info.normalizedByModel ? l2normalize(vector) : vector, record),
      );
      result.embedded++;
      options.onProgress?.();
    });
    // Backpressure: at most two batches wait, so memory stays flat however long the input.
    await batcher.whenQueuedAtMost(2 * options.batcher.maxBatchSize);
  }
  await writeChain;
  return {
    total: inputs.length,
    ...result,
    interrupted: options.signal?.aborted ?? false,
    seconds: (performance.now() - started) / 1000,
    stages: timer.summary(),
    batching: batcher.stats,
  };
}
