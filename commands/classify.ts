import { Args, Flags } from "@oclif/core";
import { EmbCommand } from "../src/cli/command.js";
import { EXIT, runStatus } from "../src/cli/errors.js";
import { readInputFile } from "../src/sources/text.js";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { decodeFingerprint, decodeOptions, extensionList, filesFromFlags, imageInputFlags, modelFlags, outputFlags, shardFlags } from "../src/cli/flags.js";
import { imageSourcesFromFlags } from "../src/cli/inputs.js";
import { progressBar } from "../src/cli/progress.js";
import { openMatcherFromFlags } from "../src/cli/run-support.js";
import { recordedRun } from "../src/jobs/run-record.js";
import { ResultStore } from "../src/io/result-store.js";
import type { LogitParameters } from "../src/models/types.js";
import {
  classifyImages,
  classifyToStore,
  DEFAULT_TEMPLATE,
  type Classification,
  type ClassificationRecord,
  type ClassifySummary,
} from "../src/jobs/classify.js";
import { isTarPath } from "../src/sources/tar.js";
import { versions } from "../src/version.js";

export default class Classify extends EmbCommand {
  static override summary = "Zero-shot classification: rank labels for each image by SigLIP's sigmoid probability.";
  static override description =
    `Each label becomes a prompt through --template, is embedded once by the text tower, and is scored against every image as sigmoid(exp(logit_scale) * cos + logit_bias), the probability SigLIP was trained to give (labels are independent: probabilities need not sum to 1). The scale and bias are read from the model's combined graph. One image prints a ranked table; several print one JSON line per image. With --out, the labels go to <out>/results.jsonl instead (one record per image: path, bytes, mtime, sha256, size, labels), unreadable images to <out>/errors.jsonl, and re-running the same command resumes: images already classified are skipped. Exit status ${EXIT.someFailed} means some images failed.`;

  static override examples = [
    '<%= config.bin %> <%= command.id %> cat.jpg --labels "cat,dog,a red car"',
    "<%= config.bin %> <%= command.id %> ./photos --labels-file labels.txt --top 3 > predictions.jsonl",
    "<%= config.bin %> <%= command.id %> ./photos --labels-file labels.txt --out photos-labels",
    '<%= config.bin %> <%= command.id %> cat.jpg --labels "cat,dog" --template "a blurry photo of a {}" --json',
  ];

  static override enableJsonFlag = true;
  static override strict = false;

  static override args = {
    // ignoreStdin: standard input is a path list only with --files-from -.
    images: Args.string({ description: "image files, folders or webdataset .tar shards (or --files-from)", ignoreStdin: true }),
  };

  static override flags = {
    ...modelFlags,
    labels: Flags.string({ char: "l", description: "comma-separated labels", exclusive: ["labels-file"] }),
    "labels-file": Flags.string({ description: "labels, one per line", exclusive: ["labels"] }),
    template: Flags.string({ char: "t", description: "prompt for each label; {} stands for the label", default: DEFAULT_TEMPLATE }),
    top: Flags.integer({ description: "labels reported per image", default: 5, min: 1 }),
    "batch-size": Flags.integer({ description: "images per model run", default: 16, min: 1 }),
    ...imageInputFlags,
    ...filesFromFlags,
    ...shardFlags,
    "logit-scale": Flags.string({ description: "exp(logit_scale), for models without the combined graph", dependsOn: ["logit-bias"] }),
    "logit-bias": Flags.string({ description: "logit_bias, with --logit-scale", dependsOn: ["logit-scale"] }),
    out: Flags.string({
      char: "o",
      description: "write the labels to this folder (results.jsonl, errors.jsonl, run.json) instead of stdout; re-running resumes",
    }),
    progress: outputFlags.progress,
  };

  async run(): Promise<{ logits: LogitParameters; results: Classification[] } | (ClassifySummary & { out: string; rows: number })> {
    const { argv, flags } = await this.parse(Classify);
    const labels = this.labels(flags);
    const given = flags["logit-scale"] !== undefined ? { scale: Number(flags["logit-scale"]), bias: Number(flags["logit-bias"]) } : undefined;
    const sources = await imageSourcesFromFlags(argv as string[], flags, (m) => this.logToStderr(m));
    const showProgress = flags.progress && !this.jsonEnabled();
    const opened = await openMatcherFromFlags(flags, given, showProgress, (m) => this.usageError(m));
    const { image: imageModel, text: textModel, logits, resolved } = opened;
    const release = async () => {
      await imageModel.release();
      await textModel.release();
    };

    const { inputs } = sources;
    const single =
      !flags.out &&
      inputs.length === 1 &&
      !sources.list &&
      !sources.shard &&
      !/\/$/.test(inputs[0]) &&
      !isTarPath(inputs[0]) &&
      !(await isDirectory(inputs[0]));
    const bar = progressBar("classifying", "img", showProgress && !single);
    const options = {
      ...sources,
      labels,
      template: flags.template,
      extensions: extensionList(flags.ext),
      decode: decodeOptions(flags),
      batchSize: flags["batch-size"],
      workers: flags.workers,
      top: flags.top,
      onStart: (total: number) => bar.start(total),
      onProgress: (e: { path: string; failed: boolean }) => bar.tick({ note: e.failed ? `(failed: ${e.path})` : "" }),
    };

    if (flags.out) {
      // Everything that changes a record: another model, label, template or --top must not mix into this folder.
      const fingerprint = {
        model: resolved.repo ?? flags.model,
        commit: resolved.commit ?? null,
        graph: imageModel.info.graph,
        textGraph: textModel.info.graph,
        preprocessing: imageModel.preprocessing,
        logits,
        labels,
        template: flags.template,
        top: flags.top,
        ...decodeFingerprint(flags),
      };
      let store: ResultStore<ClassificationRecord>;
      try {
        store = ResultStore.open<ClassificationRecord>(flags.out, fingerprint, sources.shard ?? null);
      } catch (error) {
        await release();
        throw error;
      }
      const runInfo = {
        command: "classify",
        fingerprint,
        model: { spec: flags.model, ...resolved, image: imageModel.info, text: textModel.info },
        versions: versions(),
      };
      const { result, rows, status } = await recordedRun(
        store,
        runInfo,
        (m) => this.warn(m),
        (signal) => classifyToStore(imageModel, textModel, logits, store, { ...options, signal }),
        async () => {
          bar.stop();
          await release();
        },
      );
      if (!this.jsonEnabled()) {
        const rate = result.classified / Math.max(result.seconds, 1e-9);
        this.log(
          `${status}: ${result.classified} classified, ${result.unchanged} unchanged, ${result.failed} failed of ${result.total} ` +
            `in ${result.seconds.toFixed(1)} s (${rate.toFixed(1)} images/s, ${imageModel.info.provider}); ${rows} results in ${join(flags.out, "results.jsonl")}`,
        );
        if (result.failed > 0) this.log(`failed files and reasons: ${join(flags.out, "errors.jsonl")}`);
      }
      process.exitCode = runStatus(result);
      return { ...result, out: flags.out, rows };
    }

    const results: Classification[] = [];
    const print = (result: Classification) => {
      results.push(result);
      if (this.jsonEnabled()) return;
      if (!single) this.log(JSON.stringify(result));
      else if ("error" in result) this.warn(`${result.path}: ${result.error}`);
      else for (const l of result.labels) this.log(`${l.probability.toFixed(4)}  ${l.label}`);
    };
    try {
      await classifyImages(imageModel, textModel, logits, options, {
        done: ({ path, labels }) => print({ path, labels }),
        failed: (path, failure) => print({ path, ...failure }),
      });
    } finally {
      bar.stop();
      await release();
    }
    process.exitCode = runStatus({ interrupted: false, failed: results.filter((r) => "error" in r).length });
    return { logits, results };
  }

  private labels(flags: { labels?: string; "labels-file"?: string }): string[] {
    const raw = flags["labels-file"] ? readInputFile(flags["labels-file"], "--labels-file").split(/\r?\n/) : (flags.labels ?? "").split(",");
    const labels = raw.map((l) => l.trim()).filter(Boolean);
    if (labels.length === 0) this.usageError('no labels: pass --labels "cat,dog" or --labels-file with one label per line');
    return labels;
  }
}

async function isDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
}
