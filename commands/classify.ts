import { Args, Flags } from "@oclif/core";
import { EmbCommand } from "../src/cli/command.js";
import { EXIT, runStatus } from "../src/cli/errors.js";
import {
  decodeOptions,
  extensionList,
  filesFromFlags,
  imageInputFlags,
  imageModelFlags,
  modelFlags,
  textFlags,
  outputFlags,
  shardFlags,
} from "../src/cli/flags.js";
import { imageSourcesFromFlags } from "../src/cli/inputs.js";
import { progressBar } from "../src/cli/progress.js";
import { openMatcherFromFlags } from "../src/cli/run-support.js";
import { classifyCounts, classifySummary, DEFAULT_TEMPLATE, runClassifyJob, type ClassifyOutcome } from "../src/jobs/classify.js";
import { readInputFile } from "../src/sources/text.js";

export default class Classify extends EmbCommand {
  static override summary = "Zero-shot classification: rank labels for each image by SigLIP's sigmoid probability or CLIP's softmax.";
  static override description =
    `Each label becomes a prompt through --template, is embedded once by the text tower, and is scored against every image as sigmoid(exp(logit_scale) * cos + logit_bias), the probability SigLIP and SigLIP 2 were trained to give (labels are independent: probabilities need not sum to 1); a CLIP model's scores are the softmax of exp(logit_scale) * cos over the labels. The scale and bias are read from the model's combined graph, else from the export_report.json tools/export writes, else given with --logit-scale and --logit-bias. An image-only model (DINOv2) is refused. One image prints a ranked table; several print one JSON line per image. With --out, the labels go to <out>/results.jsonl instead (one record per image: path, bytes, mtime, sha256, size, labels), unreadable images to <out>/errors.jsonl, and re-running the same command resumes: images already classified are skipped. Exit status ${EXIT.someFailed} means some images failed.`;

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
    ...textFlags,
    "max-num-patches": imageModelFlags["max-num-patches"],
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

  async run(): Promise<ClassifyOutcome> {
    const { argv, flags } = await this.parse(Classify);
    const labels = this.labels(flags);
    const given = flags["logit-scale"] !== undefined ? { scale: Number(flags["logit-scale"]), bias: Number(flags["logit-bias"]) } : undefined;
    const sources = await imageSourcesFromFlags(argv as string[], flags, (m) => this.logToStderr(m));
    const showProgress = flags.progress && !this.jsonEnabled();
    const opened = await openMatcherFromFlags(flags, given, showProgress, (m) => this.usageError(m));
    const bar = progressBar("classifying", "img", showProgress);
    const outcome = await runClassifyJob(
      {
        ...sources,
        opened,
        modelSpec: flags.model,
        labels,
        template: flags.template,
        top: flags.top,
        batchSize: flags["batch-size"],
        workers: flags.workers,
        decode: decodeOptions(flags),
        extensions: extensionList(flags.ext),
        out: flags.out,
      },
      {
        warn: (message) => this.warn(message),
        log: this.jsonEnabled() ? undefined : (line) => this.log(line),
        onStart: (total) => bar.start(total),
        onProgress: (e) => bar.tick({ note: e.failed ? `(failed: ${e.path})` : "" }),
        onEnd: () => bar.stop(),
      },
    );
    if (!this.jsonEnabled()) for (const line of classifySummary(outcome, opened.image.info.provider)) this.log(line);
    process.exitCode = runStatus(classifyCounts(outcome));
    return outcome;
  }

  private labels(flags: { labels?: string; "labels-file"?: string }): string[] {
    const raw = flags["labels-file"] ? readInputFile(flags["labels-file"], "--labels-file").split(/\r?\n/) : (flags.labels ?? "").split(",");
    const labels = raw.map((l) => l.trim()).filter(Boolean);
    if (labels.length === 0) this.usageError('no labels: pass --labels "cat,dog" or --labels-file with one label per line');
    return labels;
  }
}
