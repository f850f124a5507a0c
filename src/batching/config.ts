/**
 * Batcher settings saved to a file: `emb perf --sweep --save-config` writes the best it found,
 * and every command that batches takes it with --batcher-config.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";

/** A saved batcher configuration: what --batcher-config reads. */
export interface BatcherConfig {
  maxBatchSize: number;
  maxQueueDelayUs: number;
  workers?: number;
  /** Where it came from: the target, load and measurement, for people reading the file. */
  measured?: Record<string, unknown>;
}

export function writeBatcherConfig(path: string, config: BatcherConfig): void {
  writeFileSync(path, `${JSON.stringify(config, null, 2)}\n`);
}

export class BatcherConfigError extends Error {}

export function readBatcherConfig(path: string): BatcherConfig {
  if (!existsSync(path)) throw new BatcherConfigError(`--batcher-config ${path}: no such file (emb perf --sweep --save-config writes one)`);
  let data: Record<string, unknown>;
  try {
    // A leading BOM (an editor on Windows) is harmless: taken off as Python's utf-8-sig does.
    data = JSON.parse(readFileSync(path, "utf8").replace(/^\ufeff/, ""));
  } catch (error) {
    throw new BatcherConfigError(`--batcher-config ${path} is not JSON: ${(error as Error).message}`);
  }
  const positive = (key: string, min: number) => {
    const v = data[key];
    if (typeof v !== "number" || !Number.isInteger(v) || v < min)
      throw new BatcherConfigError(`--batcher-config ${path}: "${key}" must be an integer >= ${min}, not ${v === undefined ? "missing" : JSON.stringify(v)}`);
    return v;
  };
  return {
    maxBatchSize: positive("maxBatchSize", 1),
    maxQueueDelayUs: positive("maxQueueDelayUs", 0),
    workers: data.workers === undefined ? undefined : positive("workers", 1),
  };
}
