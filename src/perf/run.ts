/**
 * What `emb perf` does with a target factory: measure a range of concurrencies or request rates
 * (stopping at a latency threshold, as perf_analyzer does), or sweep batcher settings and keep the best (in process only:
 * a server's batcher is its own).
 */
import { writeBatcherConfig } from "../batching/config.js";
import { levelText, loadLevel, measure, type LoadOptions, type LoadShape, type Measurement } from "./load.js";
import type { PerfRow } from "./report.js";
import type { TargetFactory } from "./setup.js";
import { bestWithin, latencyOf, sweep, type LatencyPercentile, type SweepGrid, type SweepRow } from "./sweep.js";
import { serverSection } from "./server-stats.js";
import type { PerfTarget, TargetSettings } from "./targets.js";

export interface Reporter {
  progress: (message: string) => void;
  warn: (message: string) => void;
}

/** perf_analyzer warns when more than this share of requests (%) were sent late. */
export const DELAYED_WARNING_PERCENT = 1;

/**
 * Measures each load level (a concurrency or a request rate) with a fresh target from `make`;
 * stops once `percentile` latency passes `thresholdMs`. `settings` are the batcher settings the
 * rows show (none for a server, whose own settings are not known here).
 */
export async function measureRange(
  make: (load: LoadShape) => PerfTarget,
  settings: TargetSettings | undefined,
  levels: LoadShape[],
  load: (shape: LoadShape) => LoadOptions,
  options: { percentile: LatencyPercentile; thresholdMs?: number; maxTrials: number },
  report: Reporter,
): Promise<{ rows: PerfRow[]; measurements: Measurement[] }> {
  const rows: PerfRow[] = [];
  const measurements: Measurement[] = [];
  for (const shape of levels) {
    report.progress(shape.kind === "concurrency" ? `Request concurrency: ${shape.concurrency}` : `Request Rate: ${shape.rate} inference requests per second`);
    const target = make(shape);
    let m: Measurement;
    try {
      m = await measure(target, load(shape));
    } finally {
      await target.close();
    }
    measurements.push(m);
    rows.push(toRow(m, settings));
    for (const line of clientSection(m)) report.progress(line);
    if (m.server) for (const line of serverSection(m.server)) report.progress(line);
    const level = levelText(shape);
    if (!m.stable) report.warn(`${level}: throughput or latency did not settle within ${options.maxTrials} windows; the last three are reported`);
    if (m.latencyUnsettled) report.warn(`${level}: throughput settled but latency did not (requests are queueing); try a lower request rate`);
    const delayedPercent = delayedShare(m);
    if (delayedPercent > DELAYED_WARNING_PERCENT) {
      report.warn(
        `${level}: the client could not keep up with the schedule: ${delayedPercent.toFixed(2)}% of the requests were over 1 ms overdue when it came to them (sent ${m.sendRate!.toFixed(2)}/s)`,
      );
    }
    const latePercent = lateShare(m);
    if (latePercent > DELAYED_WARNING_PERCENT) {
      report.warn(
        `${level}: ${latePercent.toFixed(2)}% of the requests went out more than 1 ms after their time (the machine woke the sender late); latencies are measured from the actual send`,
      );
    }
    if (m.errors > 0) report.warn(`${m.errors} request(s) failed, e.g. ${m.firstError}`);
    const { thresholdMs, percentile } = options;
    if (thresholdMs !== undefined && latencyOf(m, percentile) > thresholdMs * 1000) {
      report.progress(
        `${percentile} latency ${(latencyOf(m, percentile) / 1000).toFixed(1)} ms is over --latency-threshold ${thresholdMs} ms: stopping the range`,
      );
      break;
    }
  }
  return { rows, measurements };
}

/** The share of measured requests sent late, percent (0 outside rate mode). */
export function delayedShare(m: Pick<Measurement, "delayedRequests" | "requestCount">): number {
  return m.delayedRequests === undefined || m.requestCount === 0 ? 0 : (100 * m.delayedRequests) / m.requestCount;
}

/** The share of measured requests sent more than 1 ms after their time, percent (0 outside rate mode). */
export function lateShare(m: Pick<Measurement, "lateRequests" | "requestCount">): number {
  return m.lateRequests === undefined || m.requestCount === 0 ? 0 : (100 * m.lateRequests) / m.requestCount;
}

/** perf_analyzer's "Client:" section: request count (delayed ones in rate mode), throughput, latencies. */
export function clientSection(m: Measurement): string[] {
  const us = (x: number) => (Number.isFinite(x) ? String(Math.trunc(x)) : "inf");
  const l = m.latency;
  return [
    "  Client:",
    `    Request count: ${m.requestCount}`,
    ...(m.delayedRequests !== undefined
      ? [
          `    Delayed request count: ${m.delayedRequests}`,
          `    Late request count: ${m.lateRequests ?? 0} (sent over 1 ms after their time)`,
          `    Avg send request rate: ${m.sendRate!.toFixed(2)} infer/sec`,
        ]
      : []),
    `    Throughput: ${Number(m.throughput.toPrecision(6))} infer/sec`,
    `    Avg latency: ${us(l.avgUs)} usec (standard deviation ${us(l.stdUs)} usec)`,
    `    p50 latency: ${us(l.p50Us)} usec`,
    `    p90 latency: ${us(l.p90Us)} usec`,
    `    p95 latency: ${us(l.p95Us)} usec`,
    `    p99 latency: ${us(l.p99Us)} usec`,
  ];
}

/** Measures every grid combination, ranks them, and saves the best under the latency limit to `saveConfig`. */
export async function sweepAndSave(
  factory: TargetFactory,
  grid: SweepGrid,
  load: LoadOptions,
  options: { percentile: LatencyPercentile; limitMs?: number; saveConfig: string; target: string },
  report: Reporter,
): Promise<{ table: PerfRow[]; best?: SweepRow; measurements: SweepRow[] }> {
  const { percentile } = options;
  const rows = await sweep(factory, grid, load, (row, i, total) =>
    report.progress(
      `[${i + 1}/${total}] batch ${row.settings.maxBatchSize}, delay ${row.settings.maxQueueDelayUs} us, workers ${row.settings.workers}: ` +
        `${row.throughput.toFixed(2)} infer/sec, ${percentile} ${(latencyOf(row, percentile) / 1000).toFixed(1)} ms`,
    ),
  );
  const best = bestWithin(rows, percentile, options.limitMs === undefined ? undefined : options.limitMs * 1000);
  if (best) {
    writeBatcherConfig(options.saveConfig, {
      ...best.settings,
      measured: {
        target: options.target,
        ...loadLevel(load.load),
        throughput: best.throughput,
        [`${percentile}Ms`]: latencyOf(best, percentile) / 1000,
        date: new Date().toISOString(),
      },
    });
  }
  return { table: rows.map((r) => toRow(r, r.settings)), best, measurements: rows };
}

export function toRow(m: Measurement, settings?: TargetSettings): PerfRow {
  return {
    concurrency: m.concurrency,
    requestRate: m.requestRate,
    requestCount: m.requestCount,
    delayedRequests: m.delayedRequests,
    lateRequests: m.lateRequests,
    sendRate: m.sendRate,
    throughput: m.throughput,
    latency: m.latency,
    breakdownUs: m.breakdownUs,
    inferences: m.inferences,
    executions: m.executions,
    batchSizes: m.batchSizes,
    peakRssBytes: m.peakRssBytes,
    maxBatchSize: settings?.maxBatchSize,
    maxQueueDelayUs: settings?.maxQueueDelayUs,
    workers: settings?.workers,
  };
}

/** "8" -> [8]; "1:64:8" -> [1, 9, 17, ..., 57] plus 64 if the step lands on it. */
export function parseRange(text: string): number[] | undefined {
  const parts = text.split(":").map(Number);
  if (parts.some((p) => !Number.isInteger(p) || p < 1) || parts.length > 3) return undefined;
  const [start, end = start, step = 1] = parts;
  if (end < start) return undefined;
  const out: number[] = [];
  for (let c = start; c <= end; c += step) out.push(c);
  return out;
}

/** A comma-separated list of integers >= min; a RangeError (usage) naming the flag otherwise. */
export function numberList(text: string, flag: string, min: number): number[] {
  const values = text.split(",").map((v) => Number(v.trim()));
  if (values.length === 0 || values.some((v) => !Number.isInteger(v) || v < min))
    throw new RangeError(`${flag} ${text}: give integers >= ${min}, comma-separated`);
  return values;
}
