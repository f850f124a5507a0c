import { Flags, type Interfaces } from "@oclif/core";
import { useColor } from "../src/cli/color.js";
import { EmbCommand } from "../src/cli/command.js";
import { writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { batcherSettings, batchingFlags, generationFlags, generationOverrides, modelFlags } from "../src/cli/flags.js";
import { openFromFlags, readBearerToken } from "../src/cli/run-support.js";
import { imageToTextTasks, PERF_TARGETS, perfTarget } from "../src/models/registry.js";
import { writeThroughputLatencyChart } from "../src/perf/chart.js";
import type { LoadShape, Measurement } from "../src/perf/load.js";
import { DEFAULT_MAX_IN_FLIGHT, loadPlan, MEASUREMENT_MODES } from "../src/perf/load-flags.js";
import { REQUEST_DISTRIBUTIONS } from "../src/perf/schedule.js";
import { perfCsv, perfTable, type PerfRow } from "../src/perf/report.js";
import { measureRange, numberList, sweepAndSave, toRow } from "../src/perf/run.js";
import { flagsRefusedWithUrl, refusedMessage, remoteTargets, REMOTE_ONLY_FLAGS } from "../src/perf/remote-setup.js";
import { imageEmbedderFactory, imageInputs, imageToTextFactory, textEmbedderFactory, type TargetFactory } from "../src/perf/setup.js";
import type { LatencyPercentile } from "../src/perf/sweep.js";
import { cpuKernels, describeCpuKernels } from "../src/runtime/cpu-kernels.js";

const PERCENTILES: LatencyPercentile[] = ["p50", "p90", "p95", "p99", "avg"];

export default class Perf extends EmbCommand {
  static override summary =
    "perf_analyzer for emb's in-process runtime or a running server (--url): throughput and latency under N requests in flight or R requests a second; --sweep tunes the batcher.";
  static override description =
    `Keeps --concurrency requests in flight against a target (siglip-image, siglip-text, or florence:<TASK>, e.g. florence:<CAPTION>), each request one image or caption through the same stages the commands run (preparation, the dynamic batcher, the model, post-processing). After a warm-up it measures windows of --measurement-interval ms until three in a row agree within --stability-percentage, and reports throughput, client latency (avg, std, p50, p90, p95, p99), the runtime's own breakdown per request (queue, preprocess, inference, postprocess), inferences versus executions and the batch sizes the batcher formed, and peak memory. A range start:end:step measures each concurrency and draws throughput against latency (SVG and PNG). --request-rate-range sends requests open-loop at R per second instead (--request-distribution constant or poisson, or the intervals of a --request-intervals file), each at its time whether or not earlier ones have finished, and counts those sent more than 1 ms late as delayed. --measurement-mode count_windows makes each window at least --measurement-request-count requests and one second long. --sweep measures max batch size x max queue delay x workers combinations, ranks them and saves the best (under --latency-limit) for --batcher-config. --url measures a running KServe v2 / Triton HTTP server instead (emb serve or a Triton Inference Server) with the same report: --target picks what is sent (to siglip_text, siglip_vision or florence2, or the model --model-name names), the client times each request, and the breakdown, inferences, executions and batch sizes come from the server's statistics over the measured windows, as perf_analyzer's server-side numbers do; no model is loaded here.`;

  static override examples = [
    "<%= config.bin %> <%= command.id %> --target siglip-image --concurrency 60",
    "<%= config.bin %> <%= command.id %> --target siglip-text --input input_ids.json --concurrency 1:64:8 --csv text.csv --chart text-chart",
    '<%= config.bin %> <%= command.id %> --target "florence:<CAPTION>" --input ./photos --concurrency 8 --max-new-tokens 20',
    "<%= config.bin %> <%= command.id %> --target siglip-image --sweep --latency-limit 500 --save-config batcher.json",
    "<%= config.bin %> <%= command.id %> --target siglip-text --request-rate-range 20:100:20 --request-distribution poisson --csv rate.csv",
    "<%= config.bin %> <%= command.id %> --target siglip-image --request-rate-range 8 --measurement-mode count_windows --measurement-request-count 100",
    "<%= config.bin %> <%= command.id %> --url http://127.0.0.1:8000 --target siglip-text --concurrency 1:64:8",
    "<%= config.bin %> <%= command.id %> --url http://triton:8000 --target siglip-image --model-name embed_image --input ./photos --concurrency 16",
  ];

  static override enableJsonFlag = true;

  static override flags = {
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
    progress: Flags.boolean({ description: "show download bars and each measurement window on stderr", default: true, allowNo: true }),
  };

  async run(): Promise<Record<string, unknown>> {
    const { flags, raw } = await this.parse(Perf);
    const given = new Set(raw.flatMap((token) => (token.type === "flag" ? [token.flag] : [])));
    if (flags.url) {
      const refused = flagsRefusedWithUrl(given, flags.target);
      if (refused.length > 0) this.usageError(refusedMessage(refused));
    } else {
      const remoteOnly = REMOTE_ONLY_FLAGS.filter((f) => given.has(f));
      if (remoteOnly.length > 0)
        this.usageError(
          `${remoteOnly.map((f) => `--${f}`).join(", ")} ${remoteOnly.length === 1 ? "applies" : "apply"} only to a server: add --url http://host:port`,
        );
    }
    const { levels, window } = loadPlan(flags, given);
    if (flags.sweep && levels[0].kind === "rate") {
      this.usageError(
        "--sweep ranks batcher settings by the throughput they reach at a --concurrency; under a request rate every setting that keeps up reaches the same one: give --concurrency N with --sweep",
      );
    }
    // --json prints the result as JSON instead of tables; --no-progress hides only the progress.
    const tables = !this.jsonEnabled();
    const showProgress = tables && flags.progress;
    const report = {
      progress: (m: string) => {
        if (showProgress) this.logToStderr(m);
      },
      warn: (m: string) => this.warn(m),
    };
    const percentile = flags.percentile as LatencyPercentile;
    const load = (shape: LoadShape) => ({
      load: shape,
      window,
      stabilityPercent: flags["stability-percentage"],
      maxWindows: flags["max-trials"],
      onWindow: (w: { throughput: number; avgLatencyUs: number }, i: number) =>
        report.progress(`  Pass [${i + 1}] throughput: ${w.throughput.toFixed(2)} infer/sec. Avg latency: ${Math.round(w.avgLatencyUs)} usec`),
    });
    const range = { percentile, thresholdMs: flags["latency-threshold"], maxTrials: flags["max-trials"] };
    const color = useColor(process.stdout);
    /** Writes the CSV, chart and table of a range of load levels. */
    const finish = async (rows: PerfRow[]) => {
      if (flags.csv) writeFileSync(flags.csv, perfCsv(rows));
      const chart = rows.length > 1 ? await writeThroughputLatencyChart(rows, flags.chart) : undefined;
      if (tables) {
        this.log(perfTable(rows, color));
        if (chart) this.log(`chart: ${chart.svg}, ${chart.png}`);
      }
      return chart;
    };
    const results = (rows: PerfRow[], measurements: Measurement[]) =>
      measurements.map((m, i) => ({
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

    if (flags.url) {
      const remote = await remoteTargets({
        url: flags.url,
        token: readBearerToken(flags["token-file"]),
        target: flags.target,
        modelName: flags["model-name"],
        input: flags.input,
        field: flags.field,
        text: flags.text,
        imageSize: this.imageSize(flags["image-size"]),
        openTokenizer: async () => {
          const { model } = await openFromFlags("text-embedder", flags, showProgress, (m) => this.usageError(m));
          return { encode: (text) => model.tokenizer.encode(text).ids, release: () => model.release() };
        },
        progress: report.progress,
      });
      // One connection per request in flight.
      const make = (shape: LoadShape) => remote.make(shape.kind === "concurrency" ? shape.concurrency : shape.maxInFlight);
      const { rows, measurements } = await measureRange(make, undefined, levels, load, range, report);
      const chart = await finish(rows);
      return { target: flags.target, url: remote.url, model: remote.model, results: results(rows, measurements), chart };
    }

    const settings = batcherSettings(flags);
    const grid = flags.sweep && {
      batchSizes: numberList(flags["sweep-batch-sizes"], "--sweep-batch-sizes", 1),
      queueDelaysUs: numberList(flags["sweep-queue-delays-us"], "--sweep-queue-delays-us", 0),
      workers: flags["sweep-workers"] ? numberList(flags["sweep-workers"], "--sweep-workers", 1) : [settings.workers],
    };
    const { factory, release, cleanup } = await this.build(flags);
    const cpu = cpuKernels() ?? null;
    report.progress(describeCpuKernels(cpu ?? undefined));
    try {
      if (grid) {
        const options = { percentile, limitMs: flags["latency-limit"], saveConfig: flags["save-config"], target: flags.target };
        const { table, best } = await sweepAndSave(factory, grid, load(levels[0]), options, report);
        if (flags.csv) writeFileSync(flags.csv, perfCsv(table));
        if (tables) {
          this.log(perfTable(table, color));
          this.log(
            best
              ? `best: batch ${best.settings.maxBatchSize}, delay ${best.settings.maxQueueDelayUs} us, workers ${best.settings.workers} (${best.throughput.toFixed(2)} infer/sec); saved to ${flags["save-config"]}`
              : `no configuration kept ${percentile} latency under ${flags["latency-limit"]} ms`,
          );
        }
        return { target: flags.target, cpu, sweep: table, best: best ? toRow(best, best.settings) : null };
      }
      const { rows, measurements } = await measureRange(() => factory(settings), settings, levels, load, range, report);
      const chart = await finish(rows);
      return { target: flags.target, cpu, settings, results: results(rows, measurements), chart };
    } finally {
      await release();
      cleanup();
    }
  }

  /** --image-size WxH. */
  private imageSize(text: string): { width: number; height: number } {
    const size = /^(\d+)x(\d+)$/.exec(text);
    if (!size) this.usageError(`--image-size ${text}: give WxH, e.g. 500x375`);
    return { width: Number(size[1]), height: Number(size[2]) };
  }

  /** Loads the target's model once and returns a factory of targets for given batcher settings. */
  private async build(
    flags: Interfaces.InferredFlags<typeof Perf.flags>,
  ): Promise<{ factory: TargetFactory; release: () => Promise<void>; cleanup: () => void }> {
    const usageError: (m: string) => never = (m) => this.usageError(m);
    const progress = !this.jsonEnabled() && flags.progress;
    const imageSize = this.imageSize(flags["image-size"]);
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
