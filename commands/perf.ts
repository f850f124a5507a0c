import { Flags, type Interfaces } from "@oclif/core";
import { EmbCommand } from "../src/cli/command.js";
import { writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { batcherSettings, batchingFlags, generationFlags, generationOverrides, modelFlags } from "../src/cli/flags.js";
import { openFromFlags } from "../src/cli/run-support.js";
import { imageToTextTasks, PERF_TARGETS, perfTarget } from "../src/models/registry.js";
import { writeThroughputLatencyChart } from "../src/perf/chart.js";
import { perfCsv, perfTable } from "../src/perf/report.js";
import { measureRange, numberList, parseRange, sweepAndSave, toRow } from "../src/perf/run.js";
import { imageEmbedderFactory, imageInputs, imageToTextFactory, textEmbedderFactory, type TargetFactory } from "../src/perf/setup.js";
import type { LatencyPercentile } from "../src/perf/sweep.js";

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
    const report = {
      progress: (m: string) => {
        if (!quiet) this.logToStderr(m);
      },
      warn: (m: string) => this.warn(m),
    };
    const percentile = flags.percentile as LatencyPercentile;
    const load = (concurrency: number) => ({
      concurrency,
      windowMs: flags["measurement-interval"],
      stabilityPercent: flags["stability-percentage"],
      maxWindows: flags["max-trials"],
      onWindow: (w: { throughput: number; avgLatencyUs: number }, i: number) =>
        report.progress(`  Pass [${i + 1}] throughput: ${w.throughput.toFixed(2)} infer/sec. Avg latency: ${Math.round(w.avgLatencyUs)} usec`),
    });
    const grid = flags.sweep && {
      batchSizes: numberList(flags["sweep-batch-sizes"], "--sweep-batch-sizes", 1),
      queueDelaysUs: numberList(flags["sweep-queue-delays-us"], "--sweep-queue-delays-us", 0),
      workers: flags["sweep-workers"] ? numberList(flags["sweep-workers"], "--sweep-workers", 1) : [settings.workers],
    };
    const color = Boolean(process.stdout.isTTY);
    const { factory, release, cleanup } = await this.build(flags);
    try {
      if (grid) {
        const options = { percentile, limitMs: flags["latency-limit"], saveConfig: flags["save-config"], target: flags.target };
        const { table, best } = await sweepAndSave(factory, grid, load(concurrencies[0]), options, report);
        if (flags.csv) writeFileSync(flags.csv, perfCsv(table));
        if (!quiet) {
          this.log(perfTable(table, color));
          this.log(best ? `best: batch ${best.settings.maxBatchSize}, delay ${best.settings.maxQueueDelayUs} us, workers ${best.settings.workers} (${best.throughput.toFixed(2)} infer/sec); saved to ${flags["save-config"]}` : `no configuration kept ${percentile} latency under ${flags["latency-limit"]} ms`);
        }
        return { target: flags.target, sweep: table, best: best ? toRow(best, best.settings) : null };
      }
      const range = { percentile, thresholdMs: flags["latency-threshold"], maxTrials: flags["max-trials"] };
      const { rows, measurements } = await measureRange(factory, settings, concurrencies, load, range, report);
      if (flags.csv) writeFileSync(flags.csv, perfCsv(rows));
      const chart = rows.length > 1 ? await writeThroughputLatencyChart(rows, flags.chart) : undefined;
      if (!quiet) {
        this.log(perfTable(rows, color));
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
