/** What `emb perf` prints and writes: the results table and perf_analyzer's CSV (`-f`). */
import Table from "cli-table3";
import { stringify } from "csv-stringify/sync";
import type { RowArithmetic } from "./arithmetic.js";
import type { ServerMetricsSummary } from "./server-metrics.js";
import type { LatencySummary, StageBreakdownUs } from "./stats.js";

export interface PerfRow {
  /** The load: a concurrency, or a request rate (requests per second); one of the two. */
  concurrency?: number;
  requestRate?: number;
  /** Requests completed in the measured windows. */
  requestCount?: number;
  /** Rate mode: how many of them were sent late, and the rate they were sent at. */
  delayedRequests?: number;
  lateRequests?: number;
  sendRate?: number;
  /** Inferences per second. */
  throughput: number;
  latency: LatencySummary;
  /** Mean time per request in each stage, microseconds. */
  breakdownUs: StageBreakdownUs;
  inferences: number;
  executions: number;
  batchSizes: { value: number; count: number }[];
  peakRssBytes: number;
  maxBatchSize?: number;
  maxQueueDelayUs?: number;
  workers?: number;
  /** --collect-metrics: the server's CPU metrics over the measured windows. */
  serverMetrics?: ServerMetricsSummary;
  /** In process: the model's operations per item, the GFLOP/s they make at this throughput, the share of the CPU's peak. */
  arithmetic?: RowArithmetic;
}

/** Milliseconds from microseconds, with as many decimals as a latency needs to be read. */
export function formatMs(us: number): string {
  if (!Number.isFinite(us)) return "-";
  const ms = us / 1000;
  return ms.toFixed(ms >= 100 ? 1 : ms >= 1 ? 2 : 3);
}

const mib = (bytes: number) => (bytes / (1024 * 1024)).toFixed(0);

export function meanBatchSize(row: Pick<PerfRow, "batchSizes">): number {
  let executions = 0;
  let items = 0;
  for (const { value, count } of row.batchSizes) {
    executions += count;
    items += value * count;
  }
  return executions > 0 ? items / executions : 0;
}

/** "size×executions" pairs, largest counts first, at most `limit` of them. */
export function batchSizeText(batchSizes: PerfRow["batchSizes"], limit = 4): string {
  const top = [...batchSizes].sort((a, b) => b.count - a.count || a.value - b.value);
  const shown = top.slice(0, limit).map((b) => `${b.value}×${b.count}`);
  return top.length > limit ? `${shown.join(" ")} …` : shown.join(" ");
}

/** Whether the rows measured request rates rather than concurrencies. */
export const rateMode = (rows: readonly PerfRow[]) => rows.some((r) => r.requestRate !== undefined);

/** A row's load level as printed: its concurrency, or its request rate. */
export const levelOf = (r: PerfRow): number => r.requestRate ?? r.concurrency ?? 0;

/**
 * One row per load level, latencies in milliseconds. The batcher settings and worker columns are
 * shown only when some row has them; in rate mode, the requests sent late.
 */
export function perfTable(rows: PerfRow[], color: boolean): string {
  const rate = rateMode(rows);
  const withBatch = rows.some((r) => r.maxBatchSize !== undefined);
  const withDelay = rows.some((r) => r.maxQueueDelayUs !== undefined);
  const withWorkers = rows.some((r) => r.workers !== undefined);
  const withArithmetic = rows.some((r) => r.arithmetic);
  const head = [
    rate ? "request rate/s" : "concurrency",
    ...(withBatch ? ["max batch"] : []),
    ...(withDelay ? ["queue delay ms"] : []),
    ...(withWorkers ? ["workers"] : []),
    "infer/s",
    ...(rate ? ["delayed", "late"] : []),
    "avg ms",
    "std ms",
    "p50 ms",
    "p90 ms",
    "p95 ms",
    "p99 ms",
    "queue ms",
    "prep ms",
    "infer ms",
    "post ms",
    "batches",
    "mean batch",
    "batch sizes",
    "peak RSS MiB",
    ...(withArithmetic ? ["GFLOP/s", "% fp32 peak"] : []),
  ];
  const table = new Table({ head, style: color ? {} : { head: [], border: [] } });
  for (const r of rows) {
    const l = r.latency;
    table.push([
      levelOf(r),
      ...(withBatch ? [r.maxBatchSize ?? "-"] : []),
      ...(withDelay ? [r.maxQueueDelayUs === undefined ? "-" : formatMs(r.maxQueueDelayUs)] : []),
      ...(withWorkers ? [r.workers ?? "-"] : []),
      r.throughput.toFixed(1),
      ...(rate ? [`${r.delayedRequests ?? 0}/${r.requestCount ?? 0}`, `${r.lateRequests ?? 0}/${r.requestCount ?? 0}`] : []),
      formatMs(l.avgUs),
      formatMs(l.stdUs),
      formatMs(l.p50Us),
      formatMs(l.p90Us),
      formatMs(l.p95Us),
      formatMs(l.p99Us),
      formatMs(r.breakdownUs.queue),
      formatMs(r.breakdownUs.preprocess),
      formatMs(r.breakdownUs.inference),
      formatMs(r.breakdownUs.postprocess),
      r.executions,
      meanBatchSize(r).toFixed(2),
      batchSizeText(r.batchSizes),
      mib(r.peakRssBytes),
      ...(withArithmetic ? arithmeticCells(r.arithmetic) : []),
    ]);
  }
  return table.toString();
}

function arithmeticCells(a: RowArithmetic | undefined): string[] {
  if (!a) return ["-", "-"];
  return [a.gflops.toPrecision(3), a.peakShare === null ? "-" : (100 * a.peakShare).toFixed(1)];
}

/**
 * perf_analyzer's CSV header (src/report_writer.cc, `ReportWriter::GenerateReport`) for a
 * concurrency sweep (the first column is "Request Rate" in request-rate mode) with server
 * statistics, a non-decoupled model without response cache, and
 * `--verbose-csv` for "Avg latency". Its "request/response" and "response wait" verbose columns
 * (client library send/receive times) and the GPU metric columns are left out: nothing is sent
 * over a network in process, and the GPU columns come from Triton's metrics endpoint.
 */
export const PERF_ANALYZER_CSV_COLUMNS = [
  "Concurrency",
  "Inferences/Second",
  "Client Send",
  "Network+Server Send/Recv",
  "Server Queue",
  "Server Compute Input",
  "Server Compute Infer",
  "Server Compute Output",
  "Client Recv",
  "p50 latency",
  "p90 latency",
  "p95 latency",
  "p99 latency",
  "Avg latency",
] as const;

/** emb's own columns, after perf_analyzer's so tools that read its CSV by name still can. */
export const EMB_CSV_COLUMNS = [
  "Std latency",
  "Min latency",
  "Max latency",
  "Inferences",
  "Executions",
  "Avg Batch Size",
  "Batch Sizes",
  "Peak RSS Bytes",
  "Max Batch Size",
  "Max Queue Delay",
  "Workers",
] as const;

/** emb's columns of request-rate mode, last: the measured requests, those sent late, the rate they were sent at. */
export const EMB_RATE_CSV_COLUMNS = ["Request Count", "Delayed Request Count", "Avg Send Request Rate"] as const;

/**
 * With --collect-metrics, last: perf_analyzer's GPU metric columns (Avg GPU Utilization, Max GPU
 * Memory Usage, Total GPU Memory) as their CPU counterparts, for emb serve's CPU; utilization 0 to 1, memory in bytes.
 */
export const METRICS_CSV_COLUMNS = ["Avg CPU Utilization", "Max CPU Memory Usage", "Total CPU Memory"] as const;

/**
 * In process unless --no-arithmetic, last: the model's operations per item (two per multiply-add),
 * the GFLOP/s they make at the row's throughput, and their share of the CPU's estimated fp32 peak (0 to 1).
 */
export const ARITHMETIC_CSV_COLUMNS = ["Ops Per Item", "Achieved GFLOPS", "Share of FP32 Peak"] as const;

/** Whole microseconds, truncated as perf_analyzer's `ns / 1000` is. */
const us = (x: number) => (Number.isFinite(x) ? Math.trunc(x) : "");

/** A float as C++'s default ostream writes it (6 significant digits), without exponents. */
const sixDigits = (x: number) => String(Number(x.toPrecision(6)));

/**
 * The CSV perf_analyzer's `-f` writes, times in microseconds, rows in increasing throughput as
 * perf_analyzer sorts them. The first column is the concurrency, or in request-rate mode the
 * request rate ("Request Rate", as perf_analyzer heads it), and then three more emb columns end
 * each row: the measured request count, the delayed ones among them and the send rate. The mapping of its columns onto emb's in-process runtime:
 *
 * - Client Send, Client Recv: 0. There is no client library serialising a request or reading a
 *   response; the request is handed over in memory.
 * - Server Queue: `breakdownUs.queue`, admission and dynamic-batcher queue time.
 * - Server Compute Input: `breakdownUs.preprocess` (decode, resize, tokenise), which Triton counts
 *   as input handling.
 * - Server Compute Infer: `breakdownUs.inference`, the model run of the request's batch.
 * - Server Compute Output: `breakdownUs.postprocess`.
 * - Network+Server Send/Recv: as perf_analyzer computes it, the average latency less send, receive,
 *   queue and the three compute stages, floored at 0. In process this is the time in no stage:
 *   promise hand-offs and event-loop waits.
 * - p50/p90/p95/p99/Avg latency: the client-side end-to-end latency summary.
 *
 * The emb columns that follow: latency std/min/max (µs), inferences and batch executions of the
 * merged windows, mean batch size, the batch-size histogram as "size:executions" pairs, peak
 * RSS, and the batcher settings and worker count when known (empty otherwise). In process,
 * the arithmetic columns (ARITHMETIC_CSV_COLUMNS) end the row.
 *
 * With `--url` (a server measured over HTTP) the server columns, inferences, executions and batch
 * sizes are the server's statistics over the measured windows, as perf_analyzer fills them:
 * queue, compute input, compute infer and compute output per successful request.
 * Network+Server Send/Recv is then the time on the wire and in the server outside those stages;
 * Client Send and Client Recv stay 0 (the request is encoded before the load starts and the
 * answer is read but not decoded); peak RSS is emb perf's own, and the batcher columns are empty.
 */
export function perfCsv(rows: PerfRow[]): string {
  const rate = rateMode(rows);
  const metrics = rows.some((r) => r.serverMetrics);
  const arithmetic = rows.some((r) => r.arithmetic);
  const sorted = [...rows].sort((a, b) => a.throughput - b.throughput);
  const records = sorted.map((r) => {
    const b = r.breakdownUs;
    const accounted = b.queue + b.preprocess + b.inference + b.postprocess;
    const network = Math.max(0, r.latency.avgUs - accounted);
    return [
      sixDigits(levelOf(r)),
      sixDigits(r.throughput),
      0,
      us(network),
      us(b.queue),
      us(b.preprocess),
      us(b.inference),
      us(b.postprocess),
      0,
      us(r.latency.p50Us),
      us(r.latency.p90Us),
      us(r.latency.p95Us),
      us(r.latency.p99Us),
      us(r.latency.avgUs),
      us(r.latency.stdUs),
      us(r.latency.minUs),
      us(r.latency.maxUs),
      r.inferences,
      r.executions,
      sixDigits(meanBatchSize(r)),
      r.batchSizes.map((s) => `${s.value}:${s.count}`).join(" "),
      r.peakRssBytes,
      r.maxBatchSize ?? "",
      r.maxQueueDelayUs ?? "",
      r.workers ?? "",
      ...(rate ? [r.requestCount ?? "", r.delayedRequests ?? "", r.sendRate === undefined ? "" : sixDigits(r.sendRate)] : []),
      ...(metrics ? metricsCells(r.serverMetrics) : []),
      ...(arithmetic ? arithmeticCsvCells(r.arithmetic) : []),
    ];
  });
  const [, ...perfAnalyzer] = PERF_ANALYZER_CSV_COLUMNS;
  const columns = rate ? ["Request Rate", ...perfAnalyzer, ...EMB_CSV_COLUMNS, ...EMB_RATE_CSV_COLUMNS] : [...PERF_ANALYZER_CSV_COLUMNS, ...EMB_CSV_COLUMNS];
  const header = [...columns, ...(metrics ? METRICS_CSV_COLUMNS : []), ...(arithmetic ? ARITHMETIC_CSV_COLUMNS : [])];
  return stringify(records, { header: true, columns: header });
}

function arithmeticCsvCells(a: RowArithmetic | undefined): (string | number)[] {
  if (!a) return ["", "", ""];
  return [Math.round(a.opsPerItem), sixDigits(a.gflops), a.peakShare === null ? "" : sixDigits(a.peakShare)];
}

function metricsCells(m: ServerMetricsSummary | undefined): (string | number)[] {
  const cell = (x: number | null | undefined) => (x === null || x === undefined ? "" : x);
  return [m?.avgCpuUtilization == null ? "" : sixDigits(m.avgCpuUtilization), cell(m?.maxCpuMemoryUsedBytes), cell(m?.totalCpuMemoryBytes)];
}
