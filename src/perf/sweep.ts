/**
 * model-analyzer's job for emb: measure every combination of max batch size, max queue delay
 * and preparation workers under the same load, rank them by throughput, and pick the best one
 * whose latency percentile stays under a limit. The winner is saved as a batcher config file
 * that the other commands take with --batcher-config.
 */
import { measure, type LoadOptions, type Measurement } from "./load.js";
import type { TargetFactory } from "./setup.js";
import type { TargetSettings } from "./targets.js";

export interface SweepGrid {
  batchSizes: number[];
  queueDelaysUs: number[];
  workers: number[];
}

export interface SweepRow extends Measurement {
  settings: TargetSettings;
}

export type LatencyPercentile = "p50" | "p90" | "p95" | "p99" | "avg";

export function latencyOf(m: Measurement, percentile: LatencyPercentile): number {
  return percentile === "avg" ? m.latency.avgUs : m.latency[`${percentile}Us`];
}

export async function sweep(
  factory: TargetFactory,
  grid: SweepGrid,
  load: LoadOptions,
  onRow?: (row: SweepRow, index: number, total: number) => void,
): Promise<SweepRow[]> {
  const combos = grid.batchSizes.flatMap((maxBatchSize) =>
    grid.queueDelaysUs.flatMap((maxQueueDelayUs) => grid.workers.map((workers) => ({ maxBatchSize, maxQueueDelayUs, workers }))),
  );
  const rows: SweepRow[] = [];
  for (const settings of combos) {
    const target = factory(settings);
    try {
      const row = { ...(await measure(target, load)), settings };
      rows.push(row);
      onRow?.(row, rows.length - 1, combos.length);
    } finally {
      await target.close();
    }
  }
  return rows.sort((a, b) => b.throughput - a.throughput);
}

/** The fastest configuration within the latency limit (microseconds), if any meets it. */
export function bestWithin(rows: SweepRow[], percentile: LatencyPercentile, limitUs?: number): SweepRow | undefined {
  return rows.find((r) => r.errors === 0 && (limitUs === undefined || latencyOf(r, percentile) <= limitUs));
}
