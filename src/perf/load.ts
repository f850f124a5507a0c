/**
 * The load generator and measurement loop, as perf_analyzer runs them. The load is either
 * `concurrency` requests kept in flight (each finished request is replaced at once), or requests
 * sent open-loop on a schedule of `rate` per second (open-loop.ts; those sent late are counted as
 * delayed). After a warm-up, completed requests are measured in windows, of `windowMs` each
 * (time windows) or of at least `requests` completed requests and one second (count windows),
 * until the last three windows agree within `stabilityPercent` (throughput and average latency)
 * or `maxWindows` have passed. The stable windows together make the reported measurement. In
 * rate mode, as in perf_analyzer's asynchronous mode, windows stable in throughput alone are
 * accepted at the end, flagged as not settled in latency.
 */
import type { BatchStats } from "../batching/batcher.js";
import type { StageSummary } from "../pipeline/timing.js";
import { OpenLoop, type Clock } from "./open-loop.js";
import { wallClockNs, type ProfileRecord, type RequestRecord } from "./profile-export.js";
import type { Schedule, SendTimes } from "./schedule.js";
import { answerError, type SenderAnswer, SenderThreads } from "./sender-thread.js";
import { histogram, summarizeLatencies, type LatencySummary } from "./stats.js";
import { countWindowComplete, settledWindows, stableWindows } from "./stability.js";
import { serverStatsDifference, serverStatsSum, summarizeServer, type ServerStatistics, type ServerSummary } from "./server-stats.js";
import type { PerfTarget, RequestTiming } from "./targets.js";

/** What keeps the target busy: N requests in flight, or requests sent on a schedule. */
export type LoadShape =
  | { kind: "concurrency"; concurrency: number }
  | {
      kind: "rate";
      /** The rate the schedule stands for, requests per second (what the report shows). */
      rate: number;
      /** A fresh schedule for each measurement. */
      sendTimes: () => SendTimes;
      /** The same schedule as data, for a sender in another thread (set by the flags). */
      schedule?: Schedule;
      /** The most requests outstanding at once. */
      maxInFlight: number;
      clock?: Clock;
    };

/** How a measurement window ends: after `ms`, or once `requests` have completed and `minMs` (1 s) has passed. */
export type WindowMode = { mode: "time"; ms: number } | { mode: "count"; requests: number; minMs?: number };

/** How often a count window checks whether it is complete. */
const COUNT_POLL_MS = 10;

/** The load's level as the report shows it: its concurrency or its request rate. */
export function loadLevel(load: LoadShape): { concurrency: number } | { requestRate: number } {
  return load.kind === "concurrency" ? { concurrency: load.concurrency } : { requestRate: load.rate };
}

export interface LoadOptions {
  load: LoadShape;
  window: WindowMode;
  stabilityPercent: number;
  maxWindows: number;
  /** Requests completed before measuring starts (default: one per request in flight; one in rate mode). */
  warmupRequests?: number;
  onWindow?: (window: WindowResult, index: number) => void;
}

export interface WindowResult {
  throughput: number;
  avgLatencyUs: number;
  requests: number;
  seconds: number;
  /** Requests sent in the window (rate mode). */
  sent?: number;
  /** Requests completed in the window that had been sent late (rate mode). */
  delayed?: number;
  /** Of those, requests sent more than 1 ms after their time (rate mode). */
  late?: number;
}

export interface Measurement {
  /** Set in concurrency mode. */
  concurrency?: number;
  /** Set in request-rate mode: the rate asked for, requests per second. */
  requestRate?: number;
  stable: boolean;
  /** Rate mode: stable in throughput, but latency still moved more than the bound (it grows while requests queue up). */
  latencyUnsettled?: boolean;
  windows: WindowResult[];
  /** The windows the measurement is made of. */
  measuredWindows: number;
  /** Requests completed in the measured windows (perf_analyzer's client "Request count"). */
  requestCount: number;
  /** Of those, requests whose time had passed by over 1 ms when the client came to them (rate mode; perf_analyzer's "Delayed Request Count", by its rule). */
  delayedRequests?: number;
  /** Of those, requests sent more than 1 ms after their time, late wake-ups included (rate mode; perf_analyzer does not count these). */
  lateRequests?: number;
  /** Requests sent per second over the measured windows (rate mode; perf_analyzer's "Avg send request rate"). */
  sendRate?: number;
  throughput: number;
  latency: LatencySummary;
  /**
   * Mean time per request in each stage: in process, each measured request's own stages; for a
   * server, its statistics over the measured windows (queue, compute input, compute infer,
   * compute output), as perf_analyzer's server-side columns.
   */
  breakdownUs: { queue: number; preprocess: number; inference: number; postprocess: number };
  /** The runner's own per-stage wall time over the whole run at this level (warm-up included); empty for a server. */
  stages: Record<string, StageSummary>;
  inferences: number;
  executions: number;
  batchSizes: { value: number; count: number }[];
  /** A server's account of the measured windows (perf_analyzer's "Server:" section); only for a server. */
  server?: ServerSummary;
  /** Requests that succeeded over the whole run at this level: warm-up, windows and the requests in flight at the end. */
  completedRequests: number;
  errors: number;
  firstError?: string;
  peakRssBytes: number;
  /** Every window's requests and the windows' edges, for --profile-export-file. */
  profile: ProfileRecord;
}

interface Completed extends RequestRecord {
  latencyUs: number;
  /** Behind the schedule when the client came to it, and sent over 1 ms late (rate mode; open-loop.ts). */
  delayed: boolean;
  late: boolean;
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
  const { load } = options;
  let bucket: Completed[] = [];
  let completed = 0;
  let succeeded = 0;
  let errors = 0;
  let firstError: unknown;
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
  const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

  // At the end, requests still waiting for admission in process leave unrun: under an overload
  // (a rate above what the target can do) thousands may wait, and none of them is measured.
  const ending = new AbortController();
  /** Counts an answered request into the current window, or a failure. */
  const record = (outcome: { ok: true; done: Completed } | { ok: false; error: unknown }) => {
    if (outcome.ok) {
      bucket.push(outcome.done);
      succeeded++;
    } else {
      if (ending.signal.aborted && outcome.error === ending.signal.reason) return;
      errors++;
      firstError ??= outcome.error;
    }
    completed++;
  };
  /** Runs request `i` here, timed from when it is sent. */
  const request = async (i: number, delayed = false, late = false) => {
    const start = nowUs();
    const sentNs = wallClockNs();
    try {
      const timing = await (target.kind === "local" ? target.run(i, ending.signal) : target.run(i));
      record({ ok: true, done: { latencyUs: nowUs() - start, delayed, late, timing: timing ?? undefined, sentNs, answeredNs: wallClockNs() } });
    } catch (error) {
      record({ ok: false, error });
    }
  };
  /** An answer the sender thread heard. */
  const answered = (answer: SenderAnswer) =>
    record(
      answer.ok
        ? { ok: true, done: { latencyUs: answer.latencyUs, delayed: answer.delayed, late: answer.late, sentNs: answer.sentNs, answeredNs: answer.answeredNs } }
        : { ok: false, error: answerError(answer) },
    );
  const generator = startLoad(load, target, request, answered);
  // Stops the load and waits for the requests in flight, so their counts are final.
  const drain = async () => {
    ending.abort();
    await generator.stop();
    clearInterval(sampler);
  };

  try {
    const warmup = options.warmupRequests ?? (load.kind === "concurrency" ? load.concurrency : 1);
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
    let finishedBefore = completed;
    let sentBefore = generator.sent();
    let started = nowUs();
    const windowBoundariesNs = [wallClockNs()];
    while (windows.length < options.maxWindows) {
      await windowEnd(options.window, started, () => completed - finishedBefore);
      const ended = nowUs();
      windowBoundariesNs.push(wallClockNs());
      const requests = bucket;
      bucket = [];
      finishedBefore = completed;
      const sent = generator.sent();
      const seconds = (ended - started) / 1e6;
      started = ended;
      const after = await readCounters(target);
      const window: WindowResult = {
        throughput: requests.length / seconds,
        avgLatencyUs: requests.reduce((s, r) => s + r.latencyUs, 0) / Math.max(requests.length, 1),
        requests: requests.length,
        seconds,
        ...(load.kind === "rate"
          ? { sent: sent - sentBefore, delayed: requests.filter((r) => r.delayed).length, late: requests.filter((r) => r.late).length }
          : {}),
      };
      sentBefore = sent;
      windows.push(window);
      contents.push({ requests, counters: countersDifference(after, before) });
      before = after;
      options.onWindow?.(window, windows.length - 1);
      stableFrom = stableWindows(windows, options.stabilityPercent);
      if (stableFrom !== undefined) break;
    }
    let latencyUnsettled = false;
    if (stableFrom === undefined) ({ from: stableFrom, latencyUnsettled } = settledWindows(windows, options.stabilityPercent, load.kind === "rate"));
    // Unstable after maxWindows: report the last three windows, flagged as not stable.
    const from = stableFrom ?? Math.max(0, windows.length - 3);
    const measured = contents.slice(from);
    const requests = measured.flatMap((c) => c.requests);
    if (requests.length === 0) {
      const fix = options.window.mode === "time" ? `raise --measurement-interval (${options.window.ms} ms)` : "check the target: every request failed";
      throw new Error(`no request completed in the measured windows at ${levelText(load)}; ${fix}`);
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
    const rate =
      load.kind === "rate"
        ? {
            latencyUnsettled,
            delayedRequests: requests.filter((r) => r.delayed).length,
            lateRequests: requests.filter((r) => r.late).length,
            sendRate: windows.slice(from).reduce((s, w) => s + (w.sent ?? 0), 0) / seconds,
          }
        : {};
    const stages = target.kind === "local" ? target.stages : {};
    await drain();
    return {
      ...loadLevel(load),
      stable: stableFrom !== undefined,
      ...rate,
      windows,
      measuredWindows: measured.length,
      requestCount: requests.length,
      throughput: requests.length / seconds,
      latency: summarizeLatencies(requests.map((r) => r.latencyUs)),
      ...side,
      stages,
      completedRequests: succeeded,
      errors,
      firstError: firstError === undefined ? undefined : message(firstError),
      peakRssBytes: peakRss,
      profile: {
        requests: contents.flatMap((c) => c.requests.map(({ sentNs, answeredNs }) => ({ sentNs, answeredNs }))),
        windowBoundariesNs,
      },
    };
  } finally {
    await drain();
  }
}

/** "concurrency 8" or "request rate 20/s", for messages. */
export function levelText(load: LoadShape): string {
  return load.kind === "concurrency" ? `concurrency ${load.concurrency}` : `request rate ${load.rate}/s`;
}

/** Waits until the window that began at `startedUs` is over. */
async function windowEnd(window: WindowMode, startedUs: number, completedInWindow: () => number): Promise<void> {
  if (window.mode === "time") {
    await sleep(window.ms);
    return;
  }
  while (!countWindowComplete((nowUs() - startedUs) / 1000, completedInWindow(), window)) await sleep(COUNT_POLL_MS);
}

/**
 * Starts the load: `concurrency` closed-loop clients, or the open loop of a schedule, sent from
 * a thread of its own when the target is a server (sender-thread.ts) and here otherwise (a
 * model in this process runs here; a test's clock is this thread's).
 */
function startLoad(
  load: LoadShape,
  target: PerfTarget,
  request: (i: number, delayed?: boolean, late?: boolean) => Promise<void>,
  answered: (answer: SenderAnswer) => void,
): { sent: () => number; stop: () => Promise<void> } {
  if (load.kind === "rate" && target.kind === "remote" && load.schedule && !load.clock) {
    const thread = new SenderThreads(target.sender, load.schedule, load.maxInFlight, answered);
    return { sent: () => thread.sent, stop: () => thread.stop() };
  }
  if (load.kind === "rate") {
    const loop = new OpenLoop({ sendTimes: load.sendTimes(), maxInFlight: load.maxInFlight, clock: load.clock }, (r) => request(r.index, r.delayed, r.late));
    return { sent: () => loop.sent, stop: () => loop.stop() };
  }
  let stop = false;
  let next = 0;
  const client = async () => {
    while (!stop) await request(next++);
  };
  const clients = Array.from({ length: load.concurrency }, client);
  return {
    sent: () => next,
    stop: async () => {
      stop = true;
      await Promise.all(clients);
    },
  };
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
