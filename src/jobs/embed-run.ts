/**
 * What `emb embed image` and `emb embed text` share around their runs: the output folder opened
 * for the model's fingerprint, the run recorded in run.json, the model released when the work
 * ends, and the summary line. Kept in one place so the two folders stay alike.
 */
import type { BatcherOptions } from "../batching/batcher.js";
import { EmbeddingStore, type IndexRecord, type StoredRecord, type StoreOutputs } from "../io/embedding-store.js";
import type { Opened } from "../models/registry.js";
import type { EmbedderInfo, LoadedModel } from "../models/types.js";
import type { Shard } from "../sources/shard.js";
import { versions } from "../version.js";
import type { JobHooks } from "./hooks.js";
import { recordedJobRun, summaryLines } from "./run-record.js";

export interface EmbeddingRun<R extends StoredRecord> {
  opened: Opened<LoadedModel & { info: EmbedderInfo }>;
  /** The command as run.json names it. */
  command: string;
  /** The model as the user named it (--model), for run.json. */
  modelSpec: string | undefined;
  out: string;
  fingerprint: Record<string, unknown>;
  /** The store's resume key; the record's path when absent. */
  keyOf?: (record: Omit<R, "row">) => string;
  shard?: Shard;
  outputs: StoreOutputs;
  /** run.json entries after the model's, such as how images are decoded. */
  notes?: Record<string, unknown>;
  batcher: BatcherOptions;
}

export interface EmbeddingOutcome {
  status: "complete" | "interrupted";
  out: string;
  rows: number;
}

/**
 * Runs a step before the run owns the model (which it releases however it ends): if the step
 * throws, the model is released here, so a library caller is not left holding its session.
 */
export async function releasedOnError<T>(model: LoadedModel, step: () => T): Promise<T> {
  try {
    return step();
  } catch (error) {
    await model.release();
    throw error;
  }
}

/** Opens the folder and runs `work` into it as a recorded run; the model is released at the end. */
export async function runEmbedding<R extends StoredRecord = IndexRecord, T extends { interrupted: boolean } = { interrupted: boolean }>(
  run: EmbeddingRun<R>,
  hooks: Pick<JobHooks<unknown>, "warn" | "onEnd">,
  work: (store: EmbeddingStore<R>, signal: AbortSignal) => Promise<T>,
): Promise<T & EmbeddingOutcome> {
  const { model, resolved } = run.opened;
  const store = await releasedOnError(model, () => EmbeddingStore.open<R>(run.out, model.info.dim, run.fingerprint, run.keyOf, run.shard ?? null, run.outputs));
  const runInfo = {
    command: run.command,
    fingerprint: run.fingerprint,
    model: { spec: run.modelSpec, ...resolved, ...model.info },
    ...run.notes,
    batcher: { maxBatchSize: run.batcher.maxBatchSize, maxQueueDelayUs: run.batcher.maxQueueDelayUs },
    versions: versions(),
  };
  const { result, rows, status } = await recordedJobRun(
    store,
    runInfo,
    hooks,
    () => model.release(),
    (signal) => work(store, signal),
  );
  return { ...result, status, out: run.out, rows };
}

/** The counts a summary line reports. */
export interface EmbeddingCounts extends EmbeddingOutcome {
  total: number;
  embedded: number;
  unchanged: number;
  failed: number;
  seconds: number;
}

/** The lines printed when an embedding job ends; `inputs` names what was embedded, `failedInputs` what errors.jsonl lists. */
export function embeddingSummary(o: EmbeddingCounts, provider: string, inputs: string, failedInputs: string): string[] {
  return summaryLines({
    ...o,
    done: o.embedded,
    verb: "embedded",
    unit: inputs,
    rateDigits: 1,
    provider,
    holds: `${o.rows} rows in ${o.out}/embeddings.npy`,
    failures: `failed ${failedInputs} and reasons: ${o.out}/errors.jsonl`,
  });
}
