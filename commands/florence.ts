import { Args, Flags } from "@oclif/core";
import { EmbCommand } from "../src/cli/command.js";
import { InputFailedError, runStatus } from "../src/cli/errors.js";
import {
  batcherSettings,
  batchingFlags,
  decodeOptions,
  extensionList,
  filesFromFlags,
  generationFlags,
  generationOverrides,
  imageInputFlags,
  modelFlags,
  shardFlags,
} from "../src/cli/flags.js";
import { imageSourcesFromFlags } from "../src/cli/inputs.js";
import { progressBar } from "../src/cli/progress.js";
import { openFromFlags } from "../src/cli/run-support.js";
import { florenceOnImage, florenceSummary, runFlorenceJob, type FlorenceOutcome } from "../src/jobs/florence.js";
import { isSingleImage } from "../src/jobs/results-folder.js";
import { defaultModel, imageToTextTasks } from "../src/models/registry.js";

export default class Florence extends EmbCommand {
  static override summary = "Run a Florence-2 task (caption, detection, OCR, grounding, segmentation) on images; JSON out.";
  static override description =
    `TASK is one of ${imageToTextTasks.names.join(" ")}. Tasks that take text (phrase grounding, referring expressions, open-vocabulary detection, the region tasks) need --text. Images are resized to 768x768 as the Python processor does, encoded in dynamic batches, and decoded with the model's beam search (num_beams, no_repeat_ngram_size and early_stopping from its generation_config.json, overridable), with results equal to transformers' generate() and Florence2Processor.post_process_generation. One image prints its result as JSON; folders write <out>/results.jsonl (resumable) and, with --draw, the images with their boxes, polygons and labels drawn on them.`;

  static override examples = [
    '<%= config.bin %> <%= command.id %> "<CAPTION>" photo.jpg',
    '<%= config.bin %> <%= command.id %> "<OD>" ./photos --out od-results --draw od-pictures',
    '<%= config.bin %> <%= command.id %> "<CAPTION_TO_PHRASE_GROUNDING>" photo.jpg --text "A green car parked in front of a yellow building."',
    '<%= config.bin %> <%= command.id %> "<MORE_DETAILED_CAPTION>" ./photos --num-beams 1 --max-new-tokens 256 --json',
  ];

  static override enableJsonFlag = true;
  static override strict = false;

  static override args = {
    task: Args.string({ description: `the task token, e.g. "<CAPTION>" or "<OD>"`, required: true }),
    // ignoreStdin: standard input is a path list only with --files-from -.
    inputs: Args.string({ description: "image files, folders or webdataset .tar shards (or --files-from)", ignoreStdin: true }),
  };

  static override flags = {
    text: Flags.string({ description: "the task's text input (a caption, an expression, or a region as four <loc_N> tokens)" }),
    ...modelFlags,
    model: Flags.string({
      char: "m",
      description: "a model directory, or a hub repository id downloaded into the Hugging Face cache",
      default: defaultModel("image-to-text"),
    }),
    ...generationFlags,
    ...batchingFlags(4),
    ...imageInputFlags,
    ...filesFromFlags,
    ...shardFlags,
    out: Flags.string({ char: "o", description: "output folder for folders of images (results.jsonl, errors.jsonl, run.json)", default: "florence-results" }),
    draw: Flags.string({ description: "also write each image with its result drawn on it, as PNG, into this folder" }),
    progress: Flags.boolean({ description: "show progress bars on stderr", default: true, allowNo: true }),
  };

  async run(): Promise<Record<string, unknown> | FlorenceOutcome> {
    const { args, argv, flags } = await this.parse(Florence);
    const sources = await imageSourcesFromFlags((argv as string[]).slice(1), flags, (m) => this.logToStderr(m));
    // Checked before the model loads: a bad task or missing --text is a usage error at once.
    const prompt = imageToTextTasks.prompt(args.task, flags.text);
    const overrides = generationOverrides(flags);
    const batching = batcherSettings(flags);
    const showProgress = flags.progress && !this.jsonEnabled();
    const opened = await openFromFlags("image-to-text", flags, showProgress, (m) => this.usageError(m));
    const bar = progressBar(args.task, "img", showProgress);
    const job = {
      ...sources,
      opened,
      modelSpec: flags.model,
      task: args.task,
      text: flags.text,
      prompt,
      overrides,
      out: flags.out,
      draw: flags.draw,
      decode: decodeOptions(flags),
      extensions: extensionList(flags.ext),
      workers: batching.workers,
      batcher: { maxBatchSize: batching.maxBatchSize, maxQueueDelayUs: batching.maxQueueDelayUs },
    };
    const hooks = { warn: (m: string) => this.warn(m), onStart: (total: number) => bar.start(total), onProgress: () => bar.tick(), onEnd: () => bar.stop() };
    if (await isSingleImage(sources)) {
      const one = await florenceOnImage(job, hooks);
      if ("failure" in one) throw new InputFailedError(one.failure);
      if (!this.jsonEnabled()) this.log(JSON.stringify(one.result));
      return one.result;
    }
    const outcome = await runFlorenceJob(job, hooks);
    if (!this.jsonEnabled()) for (const line of florenceSummary(outcome, opened.model.info.provider)) this.log(line);
    process.exitCode = runStatus(outcome);
    return outcome;
  }
}
