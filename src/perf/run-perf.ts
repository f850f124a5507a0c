/**
 * `emb perf` from its options to its result: measures a running server (--url) or emb's own
 * runtime in this process, over a range of load levels or a sweep of batcher settings; writes the
 * CSV and the chart, prints the tables through the hooks, and returns what --json prints.
 */
import { writeFileSync } from "node:fs";
import type { GenerationOverrides } from "../generation/settings.js";
import { imageToTextTasks, type Role, type RoleModel } from "../models/registry.js";
import { cpuKernels, describeCpuKernels } from "../runtime/cpu-kernels.js";
import type { SessionOptions } from "../runtime/session.js";
import { arithmeticLines, profileArithmetic, withArithmetic, type ModelArithmetic } from "./arithmetic.js";
import { writeThroughputLatencyChart } from "./chart.js";
import type { LoadOptions, LoadShape, Measurement } from "./load.js";
import type { LoadPlan } from "./load-flags.js";
import { remoteTargets } from "./remote-setup.js";
import type { ReportRequest } from "./perf-report.js";
import { perfCsv, perfTable, type PerfRow } from "./report.js";
import { MetricsPoller, metricsText, metricsUrl, summarizeMetrics } from "./server-metrics.js";
import { measureRange, sweepAndSave, toRow, type Reporter } from "./run.js";
import { writeRunOutputs } from "./run-outputs.js";
import { imageEmbedderFactory, imageInputs, imageToTextFactory, textEmbedderFactory, type TargetFactory } from "./setup.js";
import type { LatencyPercentile, SweepGrid } from "./sweep.js";
import type { TargetSettings } from "./targets.js";

export interface PerfOptions extends LoadPlan {
  /** --target as given: siglip-image, siglip-text or florence:<TASK>. */
  target: string;
  stabilityPercent: number;
  maxTrials: number;
  /** The latency a threshold, a limit and the sweep's ranking refer to. */
  percentile: LatencyPercentile;
  /** Stop a range once `percentile` latency passes this many ms. */
  thresholdMs?: number;
  /** Where to write the rows as CSV. */
  csv?: string;
  /** Base path of a range's throughput-latency chart (.svg and .png). */
  chart: string;
  /** Colour the tables. */
  color: boolean;
  input?: string;
  /** The caption field of a .jsonl input. */
  field: string;
  /** The task text of a florence target that takes one. */
  text?: string;
  /** Size of generated images. */
  imageSize: { width: number; height: number };
  /** Where the requests go. */
  where: ServerTarget | InProcessTarget;
  /** Where to write perf_analyzer's profile export (profile-export.ts). */
  profileExportFile?: string;
  /** Where to write the HTML report and report.json (perf-report.ts). */
  report?: ReportRequest;
}

export interface ServerTarget {
  kind: "server";
  url: string;
  token?: string;
  /** The server's model; default: the Triton deployment's model of the target. */
  modelName?: string;
  /** --collect-metrics: scrape the server's Prometheus metrics (default URL: port 8002 of --url's host) every intervalMs. */
  metrics?: { url?: string; intervalMs: number };
}

export interface InProcessTarget {
  kind: "in-process";
  role: Role;
  /** The florence target's task. */
  task?: string;
  /** Batcher settings of a range. */
  settings: TargetSettings;
  /** A florence target's generation settings. */
  generation?: GenerationOverrides;
  /** Sweep these batcher settings instead of measuring a range; keep the best under `limitMs`. */
  sweep?: { grid: SweepGrid; limitMs?: number; saveConfig: string };
  /** Count the model's arithmetic (a second, profiled load; see countArithmetic). */
  arithmetic: boolean;
}

export interface PerfHooks extends Reporter {
  /** A line of the report for stdout: a table, the chart's paths, the sweep's best. */
  log(line: string): void;
  /** Opens the model filling `role` (the one the model flags name); `session` adds session options (a profile prefix). */
  open<R extends Role>(role: R, session?: Pick<SessionOptions, "profilePrefix">): Promise<RoleModel[R]>;
}

/** Measures as the options say; the result is what --json prints. */
export function runPerf(options: PerfOptions, hooks: PerfHooks): Promise<Record<string, unknown>> {
  return options.where.kind === "server" ? measureServer(options, options.where, hooks) : measureInProcess(options, options.where, hooks);
}

async function measureServer(options: PerfOptions, server: ServerTarget, hooks: PerfHooks): Promise<Record<string, unknown>> {
  const remote = await remoteTargets({
    url: server.url,
    token: server.token,
    target: options.target,
    modelName: server.modelName,
    input: options.input,
    field: options.field,
    text: options.text,
    imageSize: options.imageSize,
    openTokenizer: async () => {
      const model = await hooks.open("text-embedder");
      return { encode: (text) => model.tokenizer.encode(text).ids, release: () => model.release() };
    },
    progress: (m) => hooks.progress(m),
  });
  // One connection per request in flight.
  const make = (shape: LoadShape) => remote.make(shape.kind === "concurrency" ? shape.concurrency : shape.maxInFlight);
  const collect = server.metrics && collectMetrics(server, remote.url, loadOptions(options, hooks), hooks);
  collect?.poller.start();
  let range;
  try {
    range = await measureRange(make, undefined, options.levels, collect?.load ?? loadOptions(options, hooks), rangeOptions(options), hooks);
  } finally {
    await collect?.poller.stop();
  }
  const { rows, measurements } = range;
  collect?.addTo(rows, measurements, hooks);
  const chart = await reportRange(rows, options, hooks);
  await writeRunOutputs(options, { rows, measurements }, hooks);
  // No model here to count the arithmetic of.
  return { target: options.target, url: remote.url, model: remote.model, arithmetic: null, results: results(rows, measurements), chart };
}

async function measureInProcess(options: PerfOptions, local: InProcessTarget, hooks: PerfHooks): Promise<Record<string, unknown>> {
  const paths = local.role === "text-embedder" ? { paths: [], cleanup: () => {} } : await imageInputs(options.input, options.imageSize, 1000);
  try {
    return await measureLocal(options, local, paths.paths, hooks);
  } finally {
    paths.cleanup();
  }
}

async function measureLocal(options: PerfOptions, local: InProcessTarget, paths: string[], hooks: PerfHooks): Promise<Record<string, unknown>> {
  const cpu = cpuKernels() ?? null;
  hooks.progress(describeCpuKernels(cpu ?? undefined));
  const load = loadOptions(options, hooks);
  const { target, percentile } = options;
  const { settings } = local;
  if (local.sweep) {
    const { grid, limitMs, saveConfig } = local.sweep;
    const swept = await withTargets(options, local, paths, hooks, (factory) =>
      sweepAndSave(factory, grid, load(options.levels[0]), { percentile, limitMs, saveConfig, target }, hooks),
    );
    const arithmetic = await countArithmetic(options, local, paths, hooks);
    const table = arithmetic ? withArithmetic(swept.table, arithmetic) : swept.table;
    const best = swept.best && (arithmetic ? withArithmetic([toRow(swept.best, swept.best.settings)], arithmetic)[0] : toRow(swept.best, swept.best.settings));
    if (options.csv) writeFileSync(options.csv, perfCsv(table));
    hooks.log(perfTable(table, options.color));
    if (arithmetic) for (const line of arithmeticLines(arithmetic)) hooks.log(line);
    hooks.log(
      swept.best
        ? `best: batch ${swept.best.settings.maxBatchSize}, delay ${swept.best.settings.maxQueueDelayUs} us, workers ${swept.best.settings.workers} (${swept.best.throughput.toFixed(2)} infer/sec); saved to ${saveConfig}`
        : `no configuration kept ${percentile} latency under ${limitMs} ms`,
    );
    await writeRunOutputs(options, { rows: table, measurements: swept.measurements, sweep: true, arithmetic }, hooks);
    return { target, cpu, arithmetic, sweep: table, best };
  }
  const measured = await withTargets(options, local, paths, hooks, (factory) =>
    measureRange(() => factory(settings), settings, options.levels, load, rangeOptions(options), hooks),
  );
  const arithmetic = await countArithmetic(options, local, paths, hooks);
  const rows = arithmetic ? withArithmetic(measured.rows, arithmetic) : measured.rows;
  const chart = await reportRange(rows, options, hooks);
  if (arithmetic) for (const line of arithmeticLines(arithmetic)) hooks.log(line);
  await writeRunOutputs(options, { rows, measurements: measured.measurements, arithmetic }, hooks);
  return { target, cpu, settings, arithmetic, results: results(rows, measured.measurements), chart };
}

/** Opens the target's model, hands `use` a factory of targets on it, and releases the model. */
async function withTargets<T>(
  options: PerfOptions,
  local: InProcessTarget,
  paths: string[],
  hooks: PerfHooks,
  use: (factory: TargetFactory) => Promise<T>,
): Promise<T> {
  const { factory, release } = await targetFactory(options, local, paths, (role) => hooks.open(role));
  try {
    return await use(factory);
  } finally {
    await release();
  }
}

/**
 * The model's arithmetic, after the measurement so its second load costs the measurement nothing:
 * the model opened again with onnxruntime's profiler on, one batch of --batch-size requests (the
 * target's own inputs) through the same runner, then counted (arithmetic.ts). Null with
 * --no-arithmetic, or with a warning where it cannot be counted: the measurement stands alone.
 */
async function countArithmetic(options: PerfOptions, local: InProcessTarget, paths: string[], hooks: PerfHooks): Promise<ModelArithmetic | null> {
  if (!local.arithmetic) return null;
  const items = local.settings.maxBatchSize;
  hooks.progress(`Counting the model's arithmetic: one profiled batch of ${items}`);
  try {
    return await profileArithmetic(async (profilePrefix) => {
      const { factory, release, provider } = await targetFactory(options, local, paths, (role) => hooks.open(role, { profilePrefix }));
      try {
        // A queue delay long enough that the batcher waits for the whole batch.
        const target = factory({ ...local.settings, maxQueueDelayUs: PROFILE_QUEUE_DELAY_US });
        let runs: PromiseSettledResult<unknown>[];
        try {
          runs = await Promise.allSettled(Array.from({ length: items }, (_, i) => target.run(i)));
        } finally {
          await target.close();
        }
        const failed = runs.find((r): r is PromiseRejectedResult => r.status === "rejected");
        if (failed) throw failed.reason;
        return { items, batches: target.kind === "local" ? target.stats.executions : 1, provider };
      } finally {
        await release();
      }
    });
  } catch (error) {
    hooks.warn(`could not count the model's arithmetic: ${error instanceof Error ? error.message : String(error)}`);
    return null;
  }
}

/** How long the profiled batch may wait to fill: past it a slow preparation splits the batch (the count per item stays right for a batch-independent model). */
const PROFILE_QUEUE_DELAY_US = 10_000_000;

/** Opens the target's model with `open` and returns a factory of targets for given batcher settings. */
async function targetFactory(
  options: PerfOptions,
  local: InProcessTarget,
  paths: string[],
  open: <R extends Role>(role: R) => Promise<RoleModel[R]>,
): Promise<{ factory: TargetFactory; release: () => Promise<void>; provider: string }> {
  const { target } = options;
  if (local.role === "text-embedder") {
    const model = await open("text-embedder");
    return { factory: textEmbedderFactory(target, model, options.input, options.field), release: () => model.release(), provider: model.info.provider };
  }
  if (local.role === "image-embedder") {
    const model = await open("image-embedder");
    return { factory: imageEmbedderFactory(target, model, paths), release: () => model.release(), provider: model.info.provider };
  }
  const prompt = local.task ? imageToTextTasks.prompt(local.task, options.text) : "";
  const model = await open("image-to-text");
  const factory = imageToTextFactory(target, model, local.task!, model.encodePrompt(prompt), model.settings(local.generation), paths);
  return { factory, release: () => model.release(), provider: model.info.provider };
}

/** How each level is measured: the window mode, the stability bound, a progress line per window. */
function loadOptions(options: PerfOptions, hooks: PerfHooks): (shape: LoadShape) => LoadOptions {
  return (shape) => ({
    load: shape,
    window: options.window,
    stabilityPercent: options.stabilityPercent,
    maxWindows: options.maxTrials,
    onWindow: (w, i) => hooks.progress(`  Pass [${i + 1}] throughput: ${w.throughput.toFixed(2)} infer/sec. Avg latency: ${Math.round(w.avgLatencyUs)} usec`),
  });
}

/**
 * The server's metrics over each level's measured windows: a poller scraping through the whole
 * range, and the levels' load options wrapped to note when each window began and ended.
 */
function collectMetrics(server: ServerTarget, serverUrl: string, load: (shape: LoadShape) => LoadOptions, hooks: PerfHooks) {
  const { url, intervalMs } = server.metrics!;
  const at = metricsUrl(url, serverUrl);
  const token = at.origin === new URL(serverUrl).origin ? server.token : undefined;
  const poller = new MetricsPoller(at, token, intervalMs, (m) => hooks.warn(m));
  const spans: { startMs: number; endMs: number }[][] = [];
  return {
    poller,
    load: (shape: LoadShape): LoadOptions => {
      const options = load(shape);
      const windows: { startMs: number; endMs: number }[] = [];
      spans.push(windows);
      return {
        ...options,
        onWindow: (w, i) => {
          const endMs = Date.now();
          windows.push({ startMs: endMs - w.seconds * 1000, endMs });
          options.onWindow?.(w, i);
        },
      };
    },
    addTo(rows: PerfRow[], measurements: Measurement[], hooks: PerfHooks) {
      measurements.forEach((m, i) => {
        const measured = spans[i].slice(-m.measuredWindows);
        const samples = poller.between(measured[0].startMs, measured[measured.length - 1].endMs);
        // A server that never answered was warned about once already.
        if (samples.length === 0 && poller.scraped > 0)
          hooks.warn(`--collect-metrics: no scrape of ${at.href} fell in the measured windows; give a --metrics-interval below --measurement-interval`);
        rows[i].serverMetrics = summarizeMetrics(samples);
        hooks.progress(metricsText(rows[i].serverMetrics!));
      });
    },
  };
}

const rangeOptions = (options: PerfOptions) => ({ percentile: options.percentile, thresholdMs: options.thresholdMs, maxTrials: options.maxTrials });

/** Writes the CSV, chart and table of a range of load levels. */
async function reportRange(rows: PerfRow[], options: PerfOptions, hooks: PerfHooks) {
  if (options.csv) writeFileSync(options.csv, perfCsv(rows));
  const chart = rows.length > 1 ? await writeThroughputLatencyChart(rows, options.chart) : undefined;
  hooks.log(perfTable(rows, options.color));
  if (chart) hooks.log(`chart: ${chart.svg}, ${chart.png}`);
  return chart;
}

/** Each level's row with how its measurement went, for --json. */
function results(rows: PerfRow[], measurements: Measurement[]) {
  return measurements.map((m, i) => ({
    ...rows[i],
    stable: m.stable,
    ...(m.latencyUnsettled ? { latencyUnsettled: true } : {}),
    windows: m.windows,
    measuredWindows: m.measuredWindows,
    errors: m.errors,
    completedRequests: m.completedRequests,
    stages: m.stages,
    ...(m.server ? { server: m.server } : {}),
  }));
}
