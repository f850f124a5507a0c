/**
 * The load generator and measurement loop, as perf_analyzer runs them: `concurrency` requests
 * are kept in flight (each finished request is replaced at once); after a warm-up, completed
 * requests are measured in windows of `windowMs` until the last three windows agree within
 * `stabilityPercent` (throughput and average latency) or `maxWindows` have passed. The stable
 * windows together make the reported measurement.
 */
import type { BatchStats } from "../batching/batcher.js";
import type { StageSummary } from "../pipeline/timing.js";
import { histogram, summarizeLatencies, type LatencySummary } from "./stats.js";
import { stableWindows } from "./stability.js";
import type { PerfTarget, RequestTiming } from "./targets.js";

export interface LoadOptions {
  concurrency: number;
  windowMs: number;
  stabilityPercent: number;
  maxWindows: number;
  /** Requests completed before measuring starts (default: one per request in flight). */
  warmupRequests?: number;
  onWindow?: (window: WindowResult, index: number) => void;
}

export interface WindowResult {
  throughput: number;
  avgLatencyUs: number;
  requests: number;
  seconds: number;
}

export interface Measurement {
  concurrency: number;
  stable: boolean;
  windows: WindowResult[];
  /** The windows the measurement is made of. */
  measuredWindows: number;
  throughput: number;
  latency: LatencySummary;
  breakdownUs: { queue: number; preprocess: number; inference: number; postprocess: number };
  /** The runner's own per-stage wall time over the whole run at this concurrency (warm-up included). */
  stages: Record<string, StageSummary>;
  inferences: number;
  executions: number;
  batchSizes: { value: number; count: number }[];
  errors: number;
  firstError?: string;
  peakRssBytes: number;
}

interface Completed {
  latencyUs: number;
  timing: RequestTiming;
}

const nowUs = () => Number(process.hrtime.bigint() / 1000n);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function measure(target: PerfTarget, options: LoadOptions): Promise<Measurement> {
  let stop = false;
  let next = 0;
  let bucket: Completed[] = [];
  let completed = 0;
  let errors = 0;
  let firstError: string | undefined;
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);

  const client = async () => {
    while (!stop) {
      const i = next++;
      const start = nowUs();
      try {
        const timing = await target.run(i);
        bucket.push({ latencyUs: nowUs() - start, timing });
      } catch (error) {
        errors++;
        firstError ??= error instanceof Error ? error.message : String(error);
      }
      completed++;
    }
  };
  const clients = Array.from({ length: options.concurrency }, client);

  try {
    const warmup = options.warmupRequests ?? options.concurrency;
    while (completed < warmup && errors < Math.max(warmup, 1)) await sleep(5);
    if (errors > 0 && bucket.length === 0) throw new Error(`every request failed during warm-up: ${firstError}`);

    const windows: WindowResult[] = [];
    const contents: { requests: Completed[]; stats: BatchStats }[] = [];
    let stableFrom: number | undefined;
    let statsBefore = snapshot(target.stats);
    bucket = [];
    while (windows.length < options.maxWindows) {
      const started = nowUs();
      await sleep(options.windowMs);
      const requests = bucket;
      bucket = [];
      const seconds = (nowUs() - started) / 1e6;
      const statsAfter = snapshot(target.stats);
      const window = {
        throughput: requests.length / seconds,
        avgLatencyUs: requests.reduce((s, r) => s + r.latencyUs, 0) / Math.max(requests.length, 1),
        requests: requests.length,
        seconds,
      };
      windows.push(window);
      contents.push({ requests, stats: difference(statsAfter, statsBefore) });
      statsBefore = statsAfter;
      options.onWindow?.(window, windows.length - 1);
      stableFrom = stableWindows(windows, options.stabilityPercent);
      if (stableFrom !== undefined) break;
    }
    // Unstable after maxWindows: report the last three windows, flagged as not stable.
    const from = stableFrom ?? Math.max(0, windows.length - 3);
    const measured = contents.slice(from);
    const requests = measured.flatMap((c) => c.requests);
    if (requests.length === 0) {
      throw new Error(`no request completed in the measured windows of ${options.windowMs} ms at concurrency ${options.concurrency}; raise --measurement-interval`);
    }
    const seconds = windows.slice(from).reduce((s, w) => s + w.seconds, 0);
    const stats = measured.map((c) => c.stats).reduce(sumStats);
    const mean = (pick: (t: RequestTiming) => number) => requests.reduce((s, r) => s + pick(r.timing), 0) / Math.max(requests.length, 1);
    return {
      concurrency: options.concurrency,
      stable: stableFrom !== undefined,
      windows,
      measuredWindows: measured.length,
      throughput: requests.length / seconds,
      latency: summarizeLatencies(requests.map((r) => r.latencyUs)),
      breakdownUs: {
        queue: mean((t) => t.queueUs),
        preprocess: mean((t) => t.preprocessUs),
        inference: mean((t) => t.inferenceUs),
        postprocess: mean((t) => t.postprocessUs),
      },
      stages: target.stages,
      inferences: stats.inferences,
      executions: stats.executions,
      batchSizes: histogram(Object.entries(stats.batchSizes).flatMap(([size, count]) => Array(count).fill(Number(size)))),
      errors,
      firstError,
      peakRssBytes: peakRss,
    };
  } finally {
    stop = true;
    await Promise.all(clients);
    clearInterval(sampler);
  }
}

function snapshot(stats: BatchStats): BatchStats {
  return { ...stats, batchSizes: { ...stats.batchSizes } };
}

function difference(after: BatchStats, before: BatchStats): BatchStats {
  const batchSizes: Record<number, number> = {};
  for (const [size, count] of Object.entries(after.batchSizes)) {
    const d = count - (before.batchSizes[Number(size)] ?? 0);
    if (d > 0) batchSizes[Number(size)] = d;
  }
  return {
    inferences: after.inferences - before.inferences,
    executions: after.executions - before.executions,
    batchSizes,
    queueUs: after.queueUs - before.queueUs,
    executeUs: after.executeUs - before.executeUs,
  };
}

function sumStats(a: BatchStats, b: BatchStats): BatchStats {
  const batchSizes = { ...a.batchSizes };
  for (const [size, count] of Object.entries(b.batchSizes)) batchSizes[Number(size)] = (batchSizes[Number(size)] ?? 0) + count;
  return {
    inferences: a.inferences + b.inferences,
    executions: a.executions + b.executions,
    batchSizes,
    queueUs: a.queueUs + b.queueUs,
    executeUs: a.executeUs + b.executeUs,
  };
}
