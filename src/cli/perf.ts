/**
 * `emb perf`'s flags and their translation into runPerf's options (src/perf/run-perf.ts): the
 * combinations that cannot mean anything are usage errors, caught before anything is opened.
 */
import { Flags, type Interfaces } from "@oclif/core";
import { availableParallelism } from "node:os";
import { DEFAULT_MAX_PIXELS } from "../image/decode.js";
import { PERF_TARGETS, perfTarget } from "../models/registry.js";
import { DEFAULT_MAX_IN_FLIGHT, loadPlan, MEASUREMENT_MODES } from "../perf/load-flags.js";
import { flagsRefusedWithUrl, refusedMessage, REMOTE_ONLY_FLAGS } from "../perf/remote-setup.js";
import type { PerfOptions } from "../perf/run-perf.js";
import { metricsUrl } from "../perf/server-metrics.js";
import { numberList } from "../perf/run.js";
import { REQUEST_DISTRIBUTIONS } from "../perf/schedule.js";
import type { LatencyPercentile } from "../perf/sweep.js";
import { useColor } from "./color.js";
import { UsageError } from "./errors.js";
import { batcherSettings, batchingFlags, generationFlags, generationOverrides, modelFlags } from "./flags.js";
import { readBearerToken } from "./run-support.js";

const PERCENTILES: LatencyPercentile[] = ["p50", "p90", "p95", "p99", "avg"];

export const perfFlags = {
  target: Flags.string({ char: "t", description: `what to load: ${PERF_TARGETS.join(", ")}`, default: "siglip-image" }),
  ...modelFlags,
  model: Flags.string({ char: "m", description: "model directory or hub id (default: SigLIP so400m, or Florence-2-large-ft for florence targets)" }),
  input: Flags.string({
    char: "i",
    description:
      "inputs: a folder of images; for siglip-text a .txt/.jsonl captions file or a perf_analyzer input-data .json of token ids (default: generated)",
  }),
  field: Flags.string({ description: "the caption field of a .jsonl --input", default: "text" }),
  "image-size": Flags.string({ description: "size of generated images, WxH", default: "500x375" }),
  text: Flags.string({ description: "the task text for florence targets that take one" }),
  concurrency: Flags.string({ char: "c", description: "requests in flight: N, or a range start:end:step", default: "1" }),
  "request-rate-range": Flags.string({
    description: "send requests open-loop at R per second instead of --concurrency: R, or a range start:end:step (decimals allowed)",
  }),
  "request-distribution": Flags.string({
    description: "with --request-rate-range: intervals between requests, all 1/R (constant) or exponential with mean 1/R (poisson)",
    options: [...REQUEST_DISTRIBUTIONS],
    default: "constant",
  }),
  seed: Flags.integer({ description: "with --request-distribution poisson: seed of the schedule (the same seed sends at the same times)", default: 0 }),
  "request-intervals": Flags.string({
    description: "send requests at the intervals of this file (microseconds, one per line, looped) instead of --concurrency or --request-rate-range",
  }),
  "max-in-flight": Flags.integer({
    description: "with a request rate: the most requests outstanding at once; one due while they are is sent late (delayed)",
    default: DEFAULT_MAX_IN_FLIGHT,
    min: 1,
  }),
  "measurement-mode": Flags.string({
    description: "windows of --measurement-interval ms (time_windows), or of at least --measurement-request-count requests and 1 s (count_windows)",
    options: [...MEASUREMENT_MODES],
    default: "time_windows",
  }),
  "measurement-interval": Flags.integer({ char: "p", description: "measurement window, ms", default: 5000, min: 10 }),
  "measurement-request-count": Flags.integer({
    description: "with --measurement-mode count_windows: the fewest requests a window measures",
    default: 50,
    min: 1,
  }),
  "stability-percentage": Flags.integer({ char: "s", description: "how far apart (%) three windows may be and still count as stable", default: 10, min: 1 }),
  "max-trials": Flags.integer({ char: "r", description: "most windows per measurement before giving up on stability", default: 10, min: 3 }),
  ...batchingFlags(16),
  workers: Flags.integer({ description: "image preparation worker threads", default: availableParallelism(), min: 1 }),
  sweep: Flags.boolean({ description: "measure every combination of the --sweep-* lists and rank them", default: false }),
  "sweep-batch-sizes": Flags.string({ description: "max batch sizes to try", default: "1,4,8,16,32" }),
  "sweep-queue-delays-us": Flags.string({ description: "max queue delays to try, microseconds", default: "0,2000,10000,100000" }),
  "sweep-workers": Flags.string({ description: "preparation workers to try (default: the --workers value)" }),
  "latency-threshold": Flags.integer({
    description: "for a concurrency or request-rate range: stop once --percentile latency exceeds this many ms (perf_analyzer's --latency-threshold)",
    min: 1,
  }),
  "latency-limit": Flags.integer({
    char: "l",
    description: "with --sweep: the best configuration must keep --percentile latency under this many ms",
    min: 1,
  }),
  percentile: Flags.string({ description: "latency the limit and the ranking table refer to", options: PERCENTILES, default: "p99" }),
  "save-config": Flags.string({ description: "with --sweep: write the best configuration here", default: "emb-batcher.json" }),
  csv: Flags.string({ char: "f", description: "write the results as perf_analyzer-style CSV" }),
  chart: Flags.string({
    description: "base path of the throughput-latency chart (.svg and .png) for a concurrency or request-rate range",
    default: "emb-perf-chart",
  }),
  ...generationFlags,
  url: Flags.string({
    description: "measure a running KServe v2 / Triton HTTP server instead (emb serve, or a Triton Inference Server), e.g. http://127.0.0.1:8000",
  }),
  "model-name": Flags.string({ description: "with --url: the server's model to measure (default: siglip_text, siglip_vision or florence2, after --target)" }),
  "token-file": Flags.string({
    description: "with --url: send Authorization: Bearer <token> with the token in this file (default: EMB_SERVE_TOKEN when set)",
  }),
  "collect-metrics": Flags.boolean({
    description:
      "with --url: read the server's Prometheus metrics while measuring, as perf_analyzer --collect-metrics does, and add its CPU utilization and memory (emb serve runs on the CPU: no GPU columns) to the table, CSV and JSON",
    default: false,
  }),
  "metrics-url": Flags.string({ description: "with --collect-metrics: where the metrics are (default: port 8002 of the --url host, /metrics)" }),
  "metrics-interval": Flags.integer({ description: "with --collect-metrics: how often to read them, ms", default: 1000, min: 10 }),
  "profile-export-file": Flags.string({
    description: "write every request's send and answer times in perf_analyzer's profile export JSON (for genai-perf / AIPerf-style analysis)",
  }),
  report: Flags.string({
    description:
      "write a self-contained HTML report into this folder (index.html, report.json): machine, best configuration, throughput-latency charts, stages, memory, the command",
  }),
  "latency-budget-ms": Flags.integer({
    description:
      "with --report: the best configuration is the fastest whose --percentile latency stays within this many ms (default: --latency-limit, else the fastest)",
    min: 1,
  }),
  arithmetic: Flags.boolean({
    description:
      "count the model's operations per item from onnxruntime's profile of one batch (a second, profiled load after the measurement) and report the GFLOP/s each throughput makes and its share of the CPU's estimated fp32 peak; --no-arithmetic skips it. Not with --url: no model is loaded here",
    default: true,
    allowNo: true,
  }),
  progress: Flags.boolean({ description: "show download bars and each measurement window on stderr", default: true, allowNo: true }),
};

export type PerfFlagValues = Interfaces.InferredFlags<typeof perfFlags>;

/** The options the flags ask for; `raw` (the parser's tokens) tells which flags were typed rather than defaulted. */
export function perfOptions(flags: PerfFlagValues, raw: Interfaces.ParserOutput["raw"], argv: string[] = []): PerfOptions {
  const given = new Set(raw.flatMap((token) => (token.type === "flag" ? [token.flag] : [])));
  if (flags.url) {
    const refused = flagsRefusedWithUrl(given, flags.target);
    if (refused.length > 0) throw new UsageError(refusedMessage(refused));
  } else {
    const remoteOnly = REMOTE_ONLY_FLAGS.filter((f) => given.has(f));
    if (remoteOnly.length > 0)
      throw new UsageError(
        `${remoteOnly.map((f) => `--${f}`).join(", ")} ${remoteOnly.length === 1 ? "applies" : "apply"} only to a server: add --url http://host:port`,
      );
  }
  if (given.has("latency-budget-ms") && !flags.report) throw new UsageError("--latency-budget-ms picks the report's best configuration: add --report DIR");
  const plan = loadPlan(flags, given);
  if (flags.sweep && plan.levels[0].kind === "rate") {
    throw new UsageError(
      "--sweep ranks batcher settings by the throughput they reach at a --concurrency; under a request rate every setting that keeps up reaches the same one: give --concurrency N with --sweep",
    );
  }
  const common = (size: PerfOptions["imageSize"]) => ({
    ...plan,
    target: flags.target,
    stabilityPercent: flags["stability-percentage"],
    maxTrials: flags["max-trials"],
    percentile: flags.percentile as LatencyPercentile,
    thresholdMs: flags["latency-threshold"],
    csv: flags.csv,
    chart: flags.chart,
    color: useColor(process.stdout),
    input: flags.input,
    field: flags.field,
    text: flags.text,
    imageSize: size,
    profileExportFile: flags["profile-export-file"],
    report: flags.report ? { dir: flags.report, latencyBudgetMs: flags["latency-budget-ms"] ?? flags["latency-limit"], argv } : undefined,
  });
  if (flags.url) {
    const token = readBearerToken(flags["token-file"]);
    // perf_analyzer too refuses its metrics flags without --collect-metrics.
    const metricsFlags = ["metrics-url", "metrics-interval"].filter((f) => given.has(f));
    if (!flags["collect-metrics"] && metricsFlags.length > 0)
      throw new UsageError(`${metricsFlags.map((f) => `--${f}`).join(", ")} ${metricsFlags.length === 1 ? "needs" : "need"} --collect-metrics`);
    if (flags["metrics-url"] !== undefined) metricsUrl(flags["metrics-url"], flags.url);
    const metrics = flags["collect-metrics"] ? { url: flags["metrics-url"], intervalMs: flags["metrics-interval"] } : undefined;
    return { ...common(imageSize(flags["image-size"])), where: { kind: "server", url: flags.url, token, modelName: flags["model-name"], metrics } };
  }
  const settings = batcherSettings(flags);
  const grid = flags.sweep && {
    batchSizes: numberList(flags["sweep-batch-sizes"], "--sweep-batch-sizes", 1),
    queueDelaysUs: numberList(flags["sweep-queue-delays-us"], "--sweep-queue-delays-us", 0),
    workers: flags["sweep-workers"] ? numberList(flags["sweep-workers"], "--sweep-workers", 1) : [settings.workers],
  };
  const size = imageSize(flags["image-size"]);
  const target = perfTarget(flags.target);
  if (!target) throw new UsageError(`--target ${flags.target}: choose ${PERF_TARGETS.join(", ")}`);
  return {
    ...common(size),
    where: {
      kind: "in-process",
      ...target,
      settings,
      // Only florence targets generate: the generation flags mean nothing to the others.
      generation: target.role === "image-to-text" ? generationOverrides(flags) : undefined,
      sweep: grid ? { grid, limitMs: flags["latency-limit"], saveConfig: flags["save-config"] } : undefined,
      arithmetic: flags.arithmetic,
    },
  };
}

/** The largest side a generated image may have: JPEG's limit, as libjpeg (through sharp) writes it. */
const MAX_SIDE = 65_500;

/** --image-size WxH: each side 1 to 65500 (JPEG), and no more pixels than the decoder takes. */
export function imageSize(text: string): { width: number; height: number } {
  const size = /^\s*(-?\d+)\s*[xX]\s*(-?\d+)\s*$/.exec(text);
  if (!size) throw new UsageError(`--image-size ${text}: give WxH, e.g. 500x375`);
  const [width, height] = [Number(size[1]), Number(size[2])];
  if (width < 1 || height < 1 || width > MAX_SIDE || height > MAX_SIDE || width * height > DEFAULT_MAX_PIXELS) {
    throw new UsageError(
      `--image-size ${text}: each side must be 1 to ${MAX_SIDE} pixels (JPEG's limit) and W x H at most ${DEFAULT_MAX_PIXELS} pixels (the decoder's limit); e.g. 500x375`,
    );
  }
  return { width, height };
}
