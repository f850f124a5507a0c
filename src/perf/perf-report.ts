/**
 * `emb perf --report DIR`: the numbers of a run gathered once, in the spirit of Triton
 * model-analyzer's summary (the machine and software, the best configuration for a latency
 * budget, every configuration's throughput and latency, the time per stage, peak memory, the
 * command again), for report.json and the page html-report.ts makes of it.
 */
import { cpus, platform, release, totalmem, arch } from "node:os";
import type { StageSummary } from "../pipeline/timing.js";
import { versions } from "../version.js";
import { peakBasis, type ModelArithmetic } from "./arithmetic.js";
import type { Measurement } from "./load.js";
import { levelOf, meanBatchSize, rateMode, type PerfRow } from "./report.js";
import type { LatencyPercentile } from "./sweep.js";

export interface ReportRequest {
  dir: string;
  /** The best configuration keeps the chosen percentile within this; none: the fastest. */
  latencyBudgetMs?: number;
  /** The command's arguments after `emb perf`, to print the command that reproduces the run. */
  argv: string[];
}

/** What of `emb perf`'s options the outputs need (PerfOptions has them). */
export interface RunOutputOptions {
  target: string;
  percentile: LatencyPercentile;
  profileExportFile?: string;
  report?: ReportRequest;
  where: { kind: "server"; url: string } | { kind: "in-process" };
}

export interface RunResults {
  rows: PerfRow[];
  measurements: Measurement[];
  /** Rows are batcher configurations under one load rather than load levels. */
  sweep?: boolean;
  /** The model's arithmetic, in process (null or absent: not counted). */
  arithmetic?: ModelArithmetic | null;
}

export interface ReportRow {
  /** "batch 8, delay 2 ms, workers 2", or "server" when the batcher is a server's own. */
  configuration: string;
  maxBatchSize: number | null;
  maxQueueDelayUs: number | null;
  workers: number | null;
  /** The concurrency or the request rate. */
  level: number;
  requestCount: number;
  errors: number;
  /** Inferences per second. */
  throughput: number;
  latencyMs: { avg: number; p50: number; p90: number; p95: number; p99: number };
  /** Mean time per request in each stage of the request's path, ms. */
  breakdownMs: { queue: number; preprocess: number; inference: number; postprocess: number };
  /** The runner's own wall time per stage (read, decode, resize, tokenize, inference, postprocess...), warm-up included. */
  stages: Record<string, StageSummary>;
  meanBatchSize: number;
  peakRssMiB: number;
  /** The model's operations per item times the throughput, GFLOP/s, and their share of the CPU's estimated fp32 peak (%); null where not counted. */
  gflops: number | null;
  peakPercent: number | null;
}

export interface PerfReport {
  generatedAt: string;
  /** The command that reproduces the run. */
  command: string;
  machine: { cpu: string; cores: number; memoryGiB: number; os: string; arch: string };
  software: Record<string, string>;
  target: string;
  /** The server measured, when --url was given (the machine above is then the client's). */
  server: string | null;
  kind: "range" | "sweep";
  load: "concurrency" | "request_rate";
  percentile: LatencyPercentile;
  latencyBudgetMs: number | null;
  /** How the best configuration was chosen, in words. */
  bestRule: string;
  /** Index into rows of the best configuration; null when none meets the budget. */
  best: number | null;
  peakRssMiB: number;
  /** The model's operations per item and the CPU's estimated fp32 peak; null where not counted (--url, --no-arithmetic). */
  arithmetic: {
    gflopPerItem: number;
    /** Some kernels' arithmetic could not be counted: the count is a lower bound. */
    lowerBound: boolean;
    peakGflops: number | null;
    /** How the peak is estimated, in words. */
    peakBasis: string;
  } | null;
  rows: ReportRow[];
}

const round = (x: number, digits = 3) => (Number.isFinite(x) ? Number(x.toFixed(digits)) : x);
const ms = (us: number) => round(us / 1000);

export function buildReport(options: RunOutputOptions, request: ReportRequest, run: RunResults): PerfReport {
  const { percentile } = options;
  const rows = run.rows.map((r, i) => reportRow(r, run.measurements[i]));
  const budget = request.latencyBudgetMs ?? null;
  const latency = (r: ReportRow) => r.latencyMs[percentile];
  // The fastest that kept within the budget (model-analyzer's default objective is throughput).
  let best: number | null = null;
  rows.forEach((r, i) => {
    if (r.errors > 0 || (budget !== null && latency(r) > budget)) return;
    if (best === null || r.throughput > rows[best].throughput) best = i;
  });
  return {
    generatedAt: new Date().toISOString(),
    command: ["emb", "perf", ...request.argv].map(shellQuote).join(" "),
    machine: machine(),
    software: versions(),
    target: options.target,
    server: options.where.kind === "server" ? options.where.url : null,
    kind: run.sweep ? "sweep" : "range",
    load: rateMode(run.rows) ? "request_rate" : "concurrency",
    percentile,
    latencyBudgetMs: budget,
    bestRule:
      budget === null
        ? "the highest throughput without errors (no latency budget given: --latency-budget-ms)"
        : `the highest throughput without errors whose ${percentile} latency is at most ${budget} ms`,
    best,
    peakRssMiB: Math.max(0, ...rows.map((r) => r.peakRssMiB)),
    arithmetic: run.arithmetic ? reportArithmetic(run.arithmetic) : null,
    rows,
  };
}

function reportRow(r: PerfRow, m: Measurement): ReportRow {
  const configured = r.maxBatchSize !== undefined;
  return {
    configuration: configured ? `batch ${r.maxBatchSize}, delay ${(r.maxQueueDelayUs ?? 0) / 1000} ms, workers ${r.workers}` : "server",
    maxBatchSize: r.maxBatchSize ?? null,
    maxQueueDelayUs: r.maxQueueDelayUs ?? null,
    workers: r.workers ?? null,
    level: levelOf(r),
    requestCount: m.requestCount,
    errors: m.errors,
    throughput: round(r.throughput, 2),
    latencyMs: { avg: ms(r.latency.avgUs), p50: ms(r.latency.p50Us), p90: ms(r.latency.p90Us), p95: ms(r.latency.p95Us), p99: ms(r.latency.p99Us) },
    breakdownMs: {
      queue: ms(r.breakdownUs.queue),
      preprocess: ms(r.breakdownUs.preprocess),
      inference: ms(r.breakdownUs.inference),
      postprocess: ms(r.breakdownUs.postprocess),
    },
    stages: m.stages,
    meanBatchSize: round(meanBatchSize(r), 2),
    peakRssMiB: round(r.peakRssBytes / (1024 * 1024), 1),
    gflops: r.arithmetic ? round(r.arithmetic.gflops) : null,
    peakPercent: typeof r.arithmetic?.peakShare === "number" ? round(100 * r.arithmetic.peakShare, 1) : null,
  };
}

function reportArithmetic(a: ModelArithmetic): PerfReport["arithmetic"] {
  const peak = a.provider === "cpu" ? a.peak.gflops : undefined;
  return { gflopPerItem: a.opsPerItem / 1e9, lowerBound: a.lowerBound, peakGflops: peak === undefined ? null : round(peak, 1), peakBasis: peakBasis(a.peak) };
}

function machine(): PerfReport["machine"] {
  const all = cpus();
  return {
    cpu: all[0]?.model.trim() ?? "unknown",
    cores: all.length,
    memoryGiB: round(totalmem() / 1024 ** 3, 1),
    os: `${platform()} ${release()}`,
    arch: arch(),
  };
}

/** An argument as a POSIX shell reads it back. */
function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}
