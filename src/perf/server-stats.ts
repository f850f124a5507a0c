/**
 * A server's own account of a model, from Triton's statistics extension
 * (`GET /v2/models/<name>/stats`, which `emb serve` answers in the same shape): cumulative counts
 * and summed nanoseconds, read at the edges of each measurement window and differenced, as
 * perf_analyzer does for its "Server:" section.
 *
 * perf_analyzer (src/inference_profiler.cc, `ReportServerSideStats`, `SummarizeServerStats`)
 * divides every stage's summed time by the successful request count of the window and reports
 * the rest of the average request time as "overhead":
 *
 *   Avg request latency: R usec (overhead O usec + queue Q usec + compute input I usec +
 *                                compute infer C usec + compute output P usec)
 *
 * The counts include every client's requests, not only this run's: measure a server no one else
 * is loading.
 */

export interface Duration {
  count: number;
  ns: number;
}

/** Cumulative statistics of one model (all its versions summed). */
export interface ServerStatistics {
  /** Inferences: batch rows, as Triton counts them (one per request for single-row requests). */
  inferences: number;
  /** Model executions (batches run). */
  executions: number;
  success: Duration;
  fail: Duration;
  queue: Duration;
  computeInput: Duration;
  computeInfer: Duration;
  computeOutput: Duration;
  /** Executions by batch size (`batch_stats[].compute_infer.count`). */
  batchSizes: Record<number, number>;
}

/** perf_analyzer's "Server:" section for one measurement, times in microseconds per request. */
export interface ServerSummary {
  /** Successful requests. */
  requests: number;
  failures: number;
  inferences: number;
  executions: number;
  avgRequestUs: number;
  /** The average request time not in a stage below (floored at 0). */
  overheadUs: number;
  queueUs: number;
  computeInputUs: number;
  computeInferUs: number;
  computeOutputUs: number;
}

export class ServerStatsError extends Error {}

const zero = (): Duration => ({ count: 0, ns: 0 });

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** A uint64 as Triton writes it: a JSON number, or a string where a protobuf-to-JSON layer wrote one. */
function count(value: unknown): number {
  const n = typeof value === "string" ? Number(value) : value;
  return typeof n === "number" && Number.isFinite(n) && n >= 0 ? n : 0;
}

function duration(value: unknown): Duration {
  return isRecord(value) ? { count: count(value.count), ns: count(value.ns) } : zero();
}

function addDuration(a: Duration, b: Duration, sign = 1): Duration {
  return { count: a.count + sign * b.count, ns: a.ns + sign * b.ns };
}

export function emptyServerStatistics(): ServerStatistics {
  return {
    inferences: 0,
    executions: 0,
    success: zero(),
    fail: zero(),
    queue: zero(),
    computeInput: zero(),
    computeInfer: zero(),
    computeOutput: zero(),
    batchSizes: {},
  };
}

/**
 * The statistics of `model` in a `/v2/models/<model>/stats` answer, summed over the versions it
 * lists. A ServerStatsError when the answer holds no entry for the model.
 */
export function parseModelStatistics(body: unknown, model: string): ServerStatistics {
  const entries = isRecord(body) && Array.isArray(body.model_stats) ? body.model_stats.filter(isRecord) : [];
  const mine = entries.filter((e) => e.name === undefined || e.name === model);
  if (mine.length === 0) throw new ServerStatsError(`the statistics answer has no entry for model "${model}"`);
  return mine.reduce<ServerStatistics>((total, e) => {
    const stats = isRecord(e.inference_stats) ? e.inference_stats : {};
    const one: ServerStatistics = {
      inferences: count(e.inference_count),
      executions: count(e.execution_count),
      success: duration(stats.success),
      fail: duration(stats.fail),
      queue: duration(stats.queue),
      computeInput: duration(stats.compute_input),
      computeInfer: duration(stats.compute_infer),
      computeOutput: duration(stats.compute_output),
      batchSizes: {},
    };
    for (const b of Array.isArray(e.batch_stats) ? e.batch_stats.filter(isRecord) : []) {
      const size = count(b.batch_size);
      const executions = duration(b.compute_infer).count;
      if (size > 0 && executions > 0) one.batchSizes[size] = executions;
    }
    return combine(total, one, 1);
  }, emptyServerStatistics());
}

function combine(a: ServerStatistics, b: ServerStatistics, sign: 1 | -1): ServerStatistics {
  const batchSizes: Record<number, number> = { ...a.batchSizes };
  for (const [size, n] of Object.entries(b.batchSizes)) batchSizes[Number(size)] = (batchSizes[Number(size)] ?? 0) + sign * n;
  for (const size of Object.keys(batchSizes)) if (batchSizes[Number(size)] <= 0) delete batchSizes[Number(size)];
  return {
    inferences: a.inferences + sign * b.inferences,
    executions: a.executions + sign * b.executions,
    success: addDuration(a.success, b.success, sign),
    fail: addDuration(a.fail, b.fail, sign),
    queue: addDuration(a.queue, b.queue, sign),
    computeInput: addDuration(a.computeInput, b.computeInput, sign),
    computeInfer: addDuration(a.computeInfer, b.computeInfer, sign),
    computeOutput: addDuration(a.computeOutput, b.computeOutput, sign),
    batchSizes,
  };
}

/** What happened between two readings. */
export const serverStatsDifference = (after: ServerStatistics, before: ServerStatistics) => combine(after, before, -1);
/** Two windows' differences together. */
export const serverStatsSum = (a: ServerStatistics, b: ServerStatistics) => combine(a, b, 1);

/** perf_analyzer's server-side averages: each stage's summed time over the successful requests. */
export function summarizeServer(s: ServerStatistics): ServerSummary {
  const requests = s.success.count;
  const perRequestUs = (d: Duration) => (requests > 0 ? d.ns / requests / 1000 : 0);
  const avgRequestUs = perRequestUs(s.success);
  const queueUs = perRequestUs(s.queue);
  const computeInputUs = perRequestUs(s.computeInput);
  const computeInferUs = perRequestUs(s.computeInfer);
  const computeOutputUs = perRequestUs(s.computeOutput);
  return {
    requests,
    failures: s.fail.count,
    inferences: s.inferences,
    executions: s.executions,
    avgRequestUs,
    overheadUs: Math.max(0, avgRequestUs - queueUs - computeInputUs - computeInferUs - computeOutputUs),
    queueUs,
    computeInputUs,
    computeInferUs,
    computeOutputUs,
  };
}

/** The "Server:" lines perf_analyzer prints after each concurrency, whole microseconds. */
export function serverSection(s: ServerSummary): string[] {
  const us = (x: number) => Math.trunc(x);
  return [
    "  Server:",
    `    Inference count: ${s.inferences}`,
    `    Execution count: ${s.executions}`,
    `    Successful request count: ${s.requests}`,
    ...(s.failures > 0 ? [`    Failed request count: ${s.failures}`] : []),
    `    Avg request latency: ${us(s.avgRequestUs)} usec (overhead ${us(s.overheadUs)} usec + queue ${us(s.queueUs)} usec + ` +
      `compute input ${us(s.computeInputUs)} usec + compute infer ${us(s.computeInferUs)} usec + compute output ${us(s.computeOutputUs)} usec)`,
  ];
}
