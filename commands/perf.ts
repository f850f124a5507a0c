import { Flags, type Interfaces } from "@oclif/core";
import { EmbCommand } from "../src/cli/command.js";
import { writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { batcherSettings, batchingFlags, generationFlags, generationOverrides, modelFlags } from "../src/cli/flags.js";
import { openFromFlags } from "../src/cli/run-support.js";
import { imageToTextTasks, PERF_TARGETS, perfTarget } from "../src/models/registry.js";
import { writeThroughputLatencyChart } from "../src/perf/chart.js";
import { measure, type Measurement } from "../src/perf/load.js";
import { perfCsv, perfTable, type PerfRow } from "../src/perf/report.js";
import { imageEmbedderFactory, imageInputs, imageToTextFactory, textEmbedderFactory, type TargetFactory } from "../src/perf/setup.js";
import { writeBatcherConfig } from "../src/batching/config.js";
import { bestWithin, latencyOf, sweep, type LatencyPercentile } from "../src/perf/sweep.js";

const PERCENTILES: LatencyPercentile[] = ["p50", "p90", "p95", "p99", "avg"];

export default class Perf extends EmbCommand {
  static override summary = "perf_analyzer for emb's in-process runtime: throughput and latency under N requests in flight; --sweep tunes the batcher.";
  static override description = `Keeps --concurrency requests in flight against a target (siglip-image, siglip-text, or florence:<TASK>, e.g. florence:<CAPTION>), each request one image or caption through the same stages the commands run (preparation, the dynamic batcher, the model, post-processing). After a warm-up it measures windows of --measurement-interval ms until three in a row agree within --stability-percentage, and reports throughput, client latency (avg, std, p50, p90, p95, p99), the runtime's own breakdown per request (queue, preprocess, inference, postprocess), inferences versus executions and the batch sizes the batcher formed, and peak memory. A range start:end:step measures each concurrency and draws throughput against latency (SVG and PNG). --sweep measures max batch size x max queue delay x workers combinations, ranks them and saves the best (under --latency-limit) for --batcher-config.`;

  static override examples = [
    "<%= config.bin %> <%= command.id %> --target siglip-image --concurrency 60",
    "<%= config.bin %> <%= command.id %> --target siglip-text --input input_ids.json --concurrency 1:64:8 --csv text.csv --chart text-chart",
    '<%= config.bin %> <%= command.id %> --target "florence:<CAPTION>" --input ./photos --concurrency 8 --max-new-tokens 20',
    "<%= config.bin %> <%= command.id %> --target siglip-image --sweep --latency-limit 500 --save-config batcher.json",
  ];

  static override enableJsonFlag = true;

  static override flags = {
    target: Flags.string({ char: "t", description: `what to load: ${PERF_TARGETS.join(", ")}`, default: "siglip-image" }),
    ...modelFlags,
    model: Flags.string({ char: "m", description: "model directory or hub id (default: SigLIP so400m, or Florence-2-large-ft for florence targets)" }),
    input: Flags.string({ char: "i", description: "inputs: a folder of images; for siglip-text a .txt/.jsonl captions file or a perf_analyzer input-data .json of token ids (default: generated)" }),
    field: Flags.string({ description: "the caption field of a .jsonl --input", default: "text" }),
    "image-size": Flags.string({ description: "size of generated images, WxH", default: "500x375" }),
    text: Flags.string({ description: "the task text for florence targets that take one" }),
    concurrency: Flags.string({ char: "c", description: "requests in flight: N, or a range start:end:step", default: "1" }),
    "measurement-interval": Flags.integer({ char: "p", description: "measurement window, ms", default: 5000, min: 10 }),
    "stability-percentage": Flags.integer({ char: "s", description: "how far apart (%) three windows may be and still count as stable", default: 10, min: 1 }),
    "max-trials": Flags.integer({ char: "r", description: "most windows per measurement before giving up on stability", default: 10, min: 3 }),
    ...batchingFlags(16),
    workers: Flags.integer({ description: "image preparation worker threads", default: availableParallelism(), min: 1 }),
    sweep: Flags.boolean({ description: "measure every combination of the --sweep-* lists and rank them", default: false }),
    "sweep-batch-sizes": Flags.string({ description: "max batch sizes to try", default: "1,4,8,16,32" }),
    "sweep-queue-delays-us": Flags.string({ description: "max queue delays to try, microseconds", default: "0,2000,10000,100000" }),
    "sweep-workers": Flags.string({ description: "preparation workers to try (default: the --workers value)" }),
    "latency-threshold": Flags.integer({ description: "for a concurrency range: stop once --percentile latency exceeds this many ms (perf_analyzer's --latency-threshold)", min: 1 }),
    "latency-limit": Flags.integer({ char: "l", description: "with --sweep: the best configuration must keep --percentile latency under this many ms", min: 1 }),
    percentile: Flags.string({ description: "latency the limit and the ranking table refer to", options: PERCENTILES, default: "p99" }),
    "save-config": Flags.string({ description: "with --sweep: write the best configuration here", default: "emb-batcher.json" }),
    csv: Flags.string({ char: "f", description: "write the results as perf_analyzer-style CSV" }),
    chart: Flags.string({ description: "base path of the throughput-latency chart (.svg and .png) for a concurrency range", default: "emb-perf-chart" }),
    ...generationFlags,
    progress: Flags.boolean({ description: "show download bars and each measurement window on stderr", default: true, allowNo: true }),
  };

  async run(): Promise<Record<string, unknown>> {
    const { flags } = await this.parse(Perf);
    const concurrencies = parseRange(flags.concurrency);
    if (!concurrencies) this.usageError(`--concurrency ${flags.concurrency}: give N or start:end:step (e.g. 1:64:8)`);
    const settings = batcherSettings(flags);
    const quiet = this.jsonEnabled() || !flags.progress;

    const { factory, release, cleanup } = await this.build(flags);
    const load = (concurrency: number) => ({
      concurrency,
      windowMs: flags["measurement-interval"],
      stabilityPercent: flags["stability-percentage"],
      maxWindows: flags["max-trials"],
      onWindow: (w: { throughput: number; avgLatencyUs: number }, i: number) => {
        if (!quiet) this.logToStderr(`  Pass [${i + 1}] throughput: ${w.throughput.toFixed(2)} infer/sec. Avg latency: ${Math.round(w.avgLatencyUs)} usec`);
      },
    });
    const percentile = flags.percentile as LatencyPercentile;
    try {
      if (flags.sweep) {
        const grid = {
          batchSizes: numberList(flags["sweep-batch-sizes"], "--sweep-batch-sizes", 1),
          queueDelaysUs: numberList(flags["sweep-queue-delays-us"], "--sweep-queue-delays-us", 0),
          workers: flags["sweep-workers"] ? numberList(flags["sweep-workers"], "--sweep-workers", 1) : [settings.workers],
        };
        const rows = await sweep(factory, grid, load(concurrencies[0]), (row, i, total) => {
          if (!quiet) this.logToStderr(`[${i + 1}/${total}] batch ${row.settings.maxBatchSize}, delay ${row.settings.maxQueueDelayUs} us, workers ${row.settings.workers}: ${row.throughput.toFixed(2)} infer/sec, ${percentile} ${(latencyOf(row, percentile) / 1000).toFixed(1)} ms`);
        });
        const limitUs = flags["latency-limit"] === undefined ? undefined : flags["latency-limit"] * 1000;
        const best = bestWithin(rows, percentile, limitUs);
        const table = rows.map((r) => toRow(r, r.settings));
        if (best) {
          writeBatcherConfig(flags["save-config"], {
            ...best.settings,
            measured: { target: flags.target, concurrency: concurrencies[0], throughput: best.throughput, [percentile + "Ms"]: latencyOf(best, percentile) / 1000, date: new Date().toISOString() },
          });
        }
        if (flags.csv) writeFileSync(flags.csv, perfCsv(table));
        if (!quiet) {
          this.log(perfTable(table, Boolean(process.stdout.isTTY)));
          this.log(best ? `best: batch ${best.settings.maxBatchSize}, delay ${best.settings.maxQueueDelayUs} us, workers ${best.settings.workers} (${best.throughput.toFixed(2)} infer/sec); saved to ${flags["save-config"]}` : `no configuration kept ${percentile} latency under ${flags["latency-limit"]} ms`);
        }
        return { target: flags.target, sweep: table, best: best ? toRow(best, best.settings) : null };
      }

      const rows: PerfRow[] = [];
      const measurements: Measurement[] = [];
      for (const concurrency of concurrencies) {
        if (!quiet) this.logToStderr(`Request concurrency: ${concurrency}`);
        const target = factory(settings);
        try {
          const m = await measure(target, load(concurrency));
          measurements.push(m);
          rows.push(toRow(m, settings));
          if (!quiet && !m.stable) this.warn(`concurrency ${concurrency}: throughput or latency did not settle within ${flags["max-trials"]} windows; the last three are reported`);
          if (m.errors > 0) this.warn(`${m.errors} request(s) failed, e.g. ${m.firstError}`);
        } finally {
          await target.close();
        }
        const threshold = flags["latency-threshold"];
        const last = measurements[measurements.length - 1];
        if (threshold !== undefined && latencyOf(last, percentile) > threshold * 1000) {
          if (!quiet) this.logToStderr(`${percentile} latency ${(latencyOf(last, percentile) / 1000).toFixed(1)} ms is over --latency-threshold ${threshold} ms: stopping the range`);
          break;
        }
      }
      if (flags.csv) writeFileSync(flags.csv, perfCsv(rows));
      let chart: { svg: string; png: string } | undefined;
      if (rows.length > 1) chart = await writeThroughputLatencyChart(rows, flags.chart);
      if (!quiet) {
        this.log(perfTable(rows, Boolean(process.stdout.isTTY)));
        if (chart) this.log(`chart: ${chart.svg}, ${chart.png}`);
      }
      return { target: flags.target, settings, results: measurements.map((m, i) => ({ ...rows[i], stable: m.stable, windows: m.windows, errors: m.errors, stages: m.stages })), chart };
    } finally {
      await release();
      cleanup();
    }
  }

  /** Loads the target's model once and returns a factory of targets for given batcher settings. */
  private async build(flags: Interfaces.InferredFlags<typeof Perf.flags>): Promise<{ factory: TargetFactory; release: () => Promise<void>; cleanup: () => void }> {
    const usageError: (m: string) => never = (m) => this.usageError(m);
    const progress = !this.jsonEnabled() && flags.progress;
    const size = /^(\d+)x(\d+)$/.exec(flags["image-size"]);
    if (!size) usageError(`--image-size ${flags["image-size"]}: give WxH, e.g. 500x375`);
    const imageSize = { width: Number(size[1]), height: Number(size[2]) };
    const target = perfTarget(flags.target);
    if (!target) usageError(`--target ${flags.target}: choose ${PERF_TARGETS.join(", ")}`);
    if (target.role === "text-embedder") {
      const { model } = await openFromFlags("text-embedder", flags, progress, usageError);
      return { factory: textEmbedderFactory(flags.target, model, flags.input, flags.field), release: () => model.release(), cleanup: () => {} };
    }
    const prompt = target.task ? imageToTextTasks.prompt(target.task, flags.text) : "";
    const inputs = await imageInputs(flags.input, imageSize, 1000);
    if (target.role === "image-embedder") {
      const { model } = await openFromFlags("image-embedder", flags, progress, usageError);
      return { factory: imageEmbedderFactory(flags.target, model, inputs.paths), release: () => model.release(), cleanup: inputs.cleanup };
    }
    const { model } = await openFromFlags("image-to-text", flags, progress, usageError);
    const factory = imageToTextFactory(flags.target, model, target.task!, model.encodePrompt(prompt), model.settings(generationOverrides(flags)), inputs.paths);
    return { factory, release: () => model.release(), cleanup: inputs.cleanup };
  }
}

function toRow(m: Measurement, settings: { maxBatchSize: number; maxQueueDelayUs: number; workers: number }): PerfRow {
  return {
    concurrency: m.concurrency,
    throughput: m.throughput,
    latency: m.latency,
    breakdownUs: m.breakdownUs,
    inferences: m.inferences,
    executions: m.executions,
    batchSizes: m.batchSizes,
    peakRssBytes: m.peakRssBytes,
    maxBatchSize: settings.maxBatchSize,
    maxQueueDelayUs: settings.maxQueueDelayUs,
    workers: settings.workers,
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

function numberList(text: string, flag: string, min: number): number[] {
  const values = text.split(",").map((v) => Number(v.trim()));
  if (values.length === 0 || values.some((v) => !Number.isInteger(v) || v < min)) throw new Error(`${flag} ${text}: give integers >= ${min}, comma-separated`);
  return values;
}
