import { Flags } from "@oclif/core";
import { EmbCommand } from "../../src/cli/command.js";
import { runStatus } from "../../src/cli/errors.js";
import { batcherSettings, batchingFlags, decodeOptions, generationFlags, generationOverrides, imageInputFlags, modelFlags } from "../../src/cli/flags.js";
import { jobOutput } from "../../src/cli/job-output.js";
import { openFromFlags } from "../../src/cli/run-support.js";
import { METRIC_GROUPS } from "../../src/eval/coco/evaluate.js";
import { PARAPHRASE_ENV } from "../../src/eval/coco/meteor/find-paraphrase.js";
import { CAPTION_TASKS, runCocoEvalJob, type CocoEvalJob } from "../../src/jobs/coco-caption.js";
import { defaultModel } from "../../src/models/registry.js";

export default class CocoEval extends EmbCommand {
  static override summary = "Caption COCO images with Florence-2 and score them with COCO's caption metrics (BLEU, METEOR, ROUGE_L, CIDEr), no Java.";
  static override description =
    `With --images, captions every annotated image with Florence-2 (--task, generation flags as for emb florence), appending each caption to <out>/results.json (a COCO results file, valid JSON at every moment; re-running resumes). With --results, scores an existing results file instead. Scores are computed as pycocoevalcap computes them: PTB tokenisation, corpus BLEU-1..4 ("closest" reference length), METEOR (exact, stem, WordNet synonym and paraphrase matches: the paraphrase table is --paraphrase-table, else $${PARAPHRASE_ENV}, else an installed pycocoevalcap's pycocoevalcap/meteor/data/paraphrase-en.gz; without one METEOR has no paraphrase matches and comes out below pycocoevalcap's), ROUGE_L and CIDEr-D, with bootstrap 95% confidence intervals. Writes metrics.json and per-image.jsonl (every image's scores, to find the worst captions) to --out.`;

  static override examples = [
    "<%= config.bin %> <%= command.id %> --images val2014 --annotations annotations/captions_val2014.json",
    "<%= config.bin %> <%= command.id %> --results captions_results.json --annotations annotations/captions_val2014.json --json",
    "<%= config.bin %> <%= command.id %> --images val2014 --annotations annotations/captions_val2014.json --limit 500 --num-beams 1",
  ];

  static override enableJsonFlag = true;

  static override flags = {
    annotations: Flags.string({ char: "a", description: "COCO caption annotations (e.g. captions_val2014.json)", required: true }),
    images: Flags.string({
      char: "i",
      description: "folder of the annotated images (file_name relative to it): caption them, then score",
      exactlyOne: ["images", "results"],
    }),
    results: Flags.string({
      char: "r",
      description:
        "a COCO results file ([{image_id, caption}]), or a folder holding results.json, to score without captioning; repeat for the shards of one job",
      exactlyOne: ["images", "results"],
      multiple: true,
    }),
    out: Flags.string({ char: "o", description: "folder for results.json, metrics.json and per-image.jsonl", default: "coco-eval" }),
    task: Flags.string({ description: "the Florence-2 captioning task", options: CAPTION_TASKS, default: "<CAPTION>" }),
    limit: Flags.integer({ description: "caption only the first N annotated images (and score those)", min: 1 }),
    "allow-missing": Flags.boolean({ description: "score only the images that have a result, as pycocoevalcap does, instead of refusing", default: false }),
    metrics: Flags.string({ description: `metrics to compute, comma-separated: ${METRIC_GROUPS.join(",")}`, default: METRIC_GROUPS.join(",") }),
    "paraphrase-table": Flags.string({
      description: `METEOR paraphrase table (METEOR 1.5's paraphrase-en.gz); default $${PARAPHRASE_ENV}, else an installed pycocoevalcap's`,
    }),
    paraphrase: Flags.boolean({ description: "METEOR paraphrase matching (--no-paraphrase: off, even where a table is found)", default: true, allowNo: true }),
    bootstrap: Flags.integer({ description: "bootstrap resamples for the 95% confidence intervals (0: none)", default: 1000, min: 0 }),
    seed: Flags.integer({ description: "seed of the bootstrap resampling", default: 0 }),
    ...modelFlags,
    model: Flags.string({ char: "m", description: "a Florence-2 model directory, or a hub repository id", default: defaultModel("image-to-text") }),
    ...generationFlags,
    ...batchingFlags(4),
    workers: imageInputFlags.workers,
    "max-pixels": imageInputFlags["max-pixels"],
    "color-management": imageInputFlags["color-management"],
    "max-file-size": imageInputFlags["max-file-size"],
    progress: Flags.boolean({ description: "show progress bars on stderr", default: true, allowNo: true }),
  };

  async run(): Promise<Record<string, unknown>> {
    const { flags } = await this.parse(CocoEval);
    const showProgress = flags.progress && !this.jsonEnabled();
    const usageError = (m: string) => this.usageError(m);
    const job: CocoEvalJob = {
      annotations: flags.annotations,
      images: flags.images,
      results: flags.results,
      out: flags.out,
      metrics: flags.metrics,
      paraphraseTable: flags["paraphrase-table"],
      paraphrase: flags.paraphrase,
      allowMissing: flags["allow-missing"],
      limit: flags.limit,
      bootstrap: flags.bootstrap,
      seed: flags.seed,
      task: flags.task,
      decode: decodeOptions(flags),
      // Read only when there are images to caption: scoring alone ignores the batching and generation flags.
      openCaptioner: async () => {
        const { workers, ...batcher } = batcherSettings(flags);
        const overrides = generationOverrides(flags);
        const { model } = await openFromFlags("image-to-text", flags, showProgress, usageError);
        return { model, overrides, workers, batcher };
      },
    };
    const outcome = await runCocoEvalJob(job, { ...jobOutput(this, showProgress), usageError, progress: showProgress });
    process.exitCode = runStatus(outcome);
    return outcome.report;
  }
}
