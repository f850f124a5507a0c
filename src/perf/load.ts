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
import { serverStatsDifference, serverStatsSum, summarizeServer, type ServerStatistics, type ServerSummary } from "./server-stats.js";
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
  /**
   * Mean time per request in each stage: in process, each measured request's own stages; for a
   * server, its statistics over the measured windows (queue, compute input, compute infer,
   * compute output), as perf_analyzer's server-side columns.
   */
  breakdownUs: { queue: number; preprocess: number; inference: number; postprocess: number };
  /** The runner's own per-stage wall time over the whole run at this concurrency (warm-up included); empty for a server. */
  stages: Record<string, StageSummary>;
  inferences: number;
  executions: number;
  batchSizes: { value: number; count: number }[];
  /** A server's account of the measured windows (perf_analyzer's "Server:" section); only for a server. */
  server?: ServerSummary;
  /** Requests that succeeded over the whole run at this concurrency: warm-up, windows and the requests in flight at the end. */
  completedRequests: number;
  errors: number;
  firstError?: string;
  peakRssBytes: number;
}

interface Completed {
  latencyUs: number;
  /** The request's own stages (in process only). */
  timing?: RequestTiming;
}

/** Cumulative counters read at each window's edges and differenced: the batcher's, or a server's statistics. */
type Counters = { kind: "local"; stats: BatchStats } | { kind: "remote"; stats: ServerStatistics };

const nowUs = () => Number(process.hrtime.bigint() / 1000n);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function readCounters(target: PerfTarget): Promise<Counters> {
  return target.kind === "local" ? { kind: "local", stats: snapshot(target.stats) } : { kind: "remote", stats: await target.serverStats() };
}

function countersDifference(after: Counters, before: Counters): Counters {
  if (after.kind === "local" && before.kind === "local") return { kind: "local", stats: difference(after.stats, before.stats) };
  if (after.kind === "remote" && before.kind === "remote") return { kind: "remote", stats: serverStatsDifference(after.stats, before.stats) };
  throw new Error("counters of different kinds");
}

function countersSum(a: Counters, b: Counters): Counters {
  if (a.kind === "local" && b.kind === "local") return { kind: "local", stats: sumStats(a.stats, b.stats) };
  if (a.kind === "remote" && b.kind === "remote") return { kind: "remote", stats: serverStatsSum(a.stats, b.stats) };
  throw new Error("counters of different kinds");
}

export async function measure(target: PerfTarget, options: LoadOptions): Promise<Measurement> {
  let stop = false;
  let next = 0;
  let bucket: Completed[] = [];
  let completed = 0;
  let succeeded = 0;
  let errors = 0;
  let firstError: unknown;
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
  const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

  const client = async () => {
    while (!stop) {
      const i = next++;
      const start = nowUs();
      try {
        const timing = await target.run(i);
        bucket.push({ latencyUs: nowUs() - start, timing: timing ?? undefined });
        succeeded++;
      } catch (error) {
        errors++;
        firstError ??= error;
      }
      completed++;
    }
  };
  const clients = Array.from({ length: options.concurrency }, client);
  // Stops the load and waits for the requests in flight, so their counts are final.
  const drain = async () => {
    stop = true;
    await Promise.all(clients);
    clearInterval(sampler);
  };

  try {
    const warmup = options.warmupRequests ?? options.concurrency;
    while (completed < warmup && errors < Math.max(warmup, 1)) await sleep(5);
    if (errors > 0 && bucket.length === 0) {
      // Keep the failure's class (a server's error, a bad input) so the CLI maps it as it would.
      const text = `every request failed during warm-up: ${message(firstError)}`;
      if (firstError instanceof Error) {
        firstError.message = text;
        throw firstError;
      }
      throw new Error(text);
    }

    const windows: WindowResult[] = [];
    const contents: { requests: Completed[]; counters: Counters }[] = [];
    let stableFrom: number | undefined;
    let before = await readCounters(target);
    bucket = [];
    let started = nowUs();
    while (windows.length < options.maxWindows) {
      await sleep(options.windowMs);
      const ended = nowUs();
      const requests = bucket;
      bucket = [];
      const seconds = (ended - started) / 1e6;
      started = ended;
      const after = await readCounters(target);
      const window = {
        throughput: requests.length / seconds,
        avgLatencyUs: requests.reduce((s, r) => s + r.latencyUs, 0) / Math.max(requests.length, 1),
        requests: requests.length,
        seconds,
      };
      windows.push(window);
      contents.push({ requests, counters: countersDifference(after, before) });
      before = after;
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
    const counters = measured.map((c) => c.counters).reduce(countersSum);
    let side: Pick<Measurement, "breakdownUs" | "inferences" | "executions" | "batchSizes" | "server">;
    if (counters.kind === "local") {
      const mean = (pick: (t: RequestTiming) => number) => requests.reduce((s, r) => s + (r.timing ? pick(r.timing) : 0), 0) / Math.max(requests.length, 1);
      side = {
        breakdownUs: {
          queue: mean((t) => t.queueUs),
          preprocess: mean((t) => t.preprocessUs),
          inference: mean((t) => t.inferenceUs),
          postprocess: mean((t) => t.postprocessUs),
        },
        inferences: counters.stats.inferences,
        executions: counters.stats.executions,
        batchSizes: sizes(counters.stats.batchSizes),
      };
    } else {
      const server = summarizeServer(counters.stats);
      side = {
        breakdownUs: { queue: server.queueUs, preprocess: server.computeInputUs, inference: server.computeInferUs, postprocess: server.computeOutputUs },
        inferences: server.inferences,
        executions: server.executions,
        batchSizes: sizes(counters.stats.batchSizes),
        server,
      };
    }
    const stages = target.kind === "local" ? target.stages : {};
    await drain();
    return {
      concurrency: options.concurrency,
      stable: stableFrom !== undefined,
      windows,
      measuredWindows: measured.length,
      throughput: requests.length / seconds,
      latency: summarizeLatencies(requests.map((r) => r.latencyUs)),
      ...side,
      stages,
      completedRequests: succeeded,
      errors,
      firstError: firstError === undefined ? undefined : message(firstError),
      peakRssBytes: peakRss,
    };
  } finally {
    await drain();
  }
}

/** A batch-size record as the histogram the report shows. */
function sizes(batchSizes: Record<number, number>): { value: number; count: number }[] {
  return histogram(Object.entries(batchSizes).flatMap(([size, count]) => Array(count).fill(Number(size))));
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
