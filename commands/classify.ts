import { Args, Flags } from "@oclif/core";
import { EmbCommand } from "../src/cli/command.js";
import { runStatus } from "../src/cli/errors.js";
import { readInputFile } from "../src/io/text-input.js";
import { stat } from "node:fs/promises";
import { decodeOptions, extensionList, filesFromFlags, imageInputFlags, modelFlags, shardFlags } from "../src/cli/flags.js";
import { imageSourcesFromFlags } from "../src/cli/inputs.js";
import { openMatcherFromFlags } from "../src/cli/run-support.js";
import type { LogitParameters } from "../src/models/types.js";
import { classifyImages, DEFAULT_TEMPLATE, type Classification } from "../src/pipeline/classify.js";
import { isTarPath } from "../src/pipeline/tar-source.js";

export default class Classify extends EmbCommand {
  static override summary = "Zero-shot classification: rank labels for each image by SigLIP's sigmoid probability.";
  static override description =
    "Each label becomes a prompt through --template, is embedded once by the text tower, and is scored against every image as sigmoid(exp(logit_scale) * cos + logit_bias), the probability SigLIP was trained to give (labels are independent: probabilities need not sum to 1). The scale and bias are read from the model's combined graph. One image prints a ranked table; several print one JSON line per image.";

  static override examples = [
    '<%= config.bin %> <%= command.id %> cat.jpg --labels "cat,dog,a red car"',
    "<%= config.bin %> <%= command.id %> ./photos --labels-file labels.txt --top 3 > predictions.jsonl",
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
  };

  async run(): Promise<{ logits: LogitParameters; results: Classification[] }> {
    const { argv, flags } = await this.parse(Classify);
    const labels = this.labels(flags);
    const given = flags["logit-scale"] !== undefined ? { scale: Number(flags["logit-scale"]), bias: Number(flags["logit-bias"]) } : undefined;
    const sources = await imageSourcesFromFlags(argv as string[], flags, (m) => this.logToStderr(m));
    const { image: imageModel, text: textModel, logits } = await openMatcherFromFlags(flags, given, !this.jsonEnabled(), (m) => this.usageError(m));

    const { inputs } = sources;
    const single =
      inputs.length === 1 && !sources.list && !sources.shard && !/\/$/.test(inputs[0]) && !isTarPath(inputs[0]) && !(await isDirectory(inputs[0]));
    const results: Classification[] = [];
    try {
      await classifyImages(
        imageModel,
        textModel,
        logits,
        {
          ...sources,
          labels,
          template: flags.template,
          extensions: extensionList(flags.ext),
          decode: decodeOptions(flags),
          batchSize: flags["batch-size"],
          workers: flags.workers,
          top: flags.top,
        },
        (result) => {
          results.push(result);
          if (this.jsonEnabled()) return;
          if (!single) this.log(JSON.stringify(result));
          else if ("error" in result) this.warn(`${result.path}: ${result.error}`);
          else for (const l of result.labels) this.log(`${l.probability.toFixed(4)}  ${l.label}`);
        },
      );
    } finally {
      await imageModel.release();
      await textModel.release();
    }
    process.exitCode = runStatus({ interrupted: false, failed: results.filter((r) => "error" in r).length });
    return { logits, results };
  }

  private labels(flags: { labels?: string; "labels-file"?: string }): string[] {
    const raw = flags["labels-file"] ? readInputFile(flags["labels-file"], "--labels-file").split(/\r?\n/) : (flags.labels ?? "").split(",");
    const labels = raw.map((l) => l.trim()).filter(Boolean);
    if (labels.length === 0) this.usageError("no labels: pass --labels \"cat,dog\" or --labels-file with one label per line");
    return labels;
  }
}

async function isDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
}
