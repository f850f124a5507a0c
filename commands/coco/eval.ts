import { Flags, type Interfaces } from "@oclif/core";
import { useColor } from "../../src/cli/color.js";
import { EmbCommand } from "../../src/cli/command.js";
import { EXIT } from "../../src/cli/errors.js";
import { join } from "node:path";
import { batcherSettings, batchingFlags, decodeOptions, generationFlags, generationOverrides, imageInputFlags, modelFlags } from "../../src/cli/flags.js";
import { progressBar } from "../../src/cli/progress.js";
import { openFromFlags } from "../../src/cli/run-support.js";
import { interruptible } from "../../src/jobs/run-record.js";
import { readAnnotations, readResults } from "../../src/eval/coco/annotations.js";
import { CAPTION_TASKS, captionCocoImages, summariseFailures, type CaptionSummary } from "../../src/jobs/coco-caption.js";
import { evaluateCaptions, METRIC_GROUPS, type MetricGroup } from "../../src/eval/coco/evaluate.js";
import { Meteor } from "../../src/eval/coco/meteor.js";
import {
  describeParaphraseChoice,
  findParaphraseTable,
  PARAPHRASE_ENV,
  ParaphraseTableError,
  type ParaphraseChoice,
} from "../../src/eval/coco/meteor/find-paraphrase.js";
import { metricsTable, seedNumbersApply, writeCocoReports } from "../../src/jobs/coco-report.js";
import { CocoResultsWriter } from "../../src/eval/coco/results-file.js";
import { defaultModel, imageToTextTasks } from "../../src/models/registry.js";
import { makeFolder } from "../../src/io/directories.js";

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
    progress: Flags.boolean({ description: "show progress bars on stderr", default: true, allowNo: true }),
  };

  async run(): Promise<Record<string, unknown>> {
    const { flags } = await this.parse(CocoEval);
    const groups = flags.metrics
      .split(",")
      .map((m) => m.trim())
      .filter(Boolean);
    const unknown = groups.filter((g) => !METRIC_GROUPS.includes(g as MetricGroup));
    if (unknown.length > 0) this.usageError(`--metrics ${unknown.join(",")}: unknown; choose from ${METRIC_GROUPS.join(", ")}`);
    const showProgress = flags.progress && !this.jsonEnabled();
    // Chosen before captioning, so a wrong table path is reported before hours of work.
    let paraphrases: ParaphraseChoice | undefined;
    if (groups.includes("meteor")) {
      try {
        paraphrases = findParaphraseTable({ table: flags["paraphrase-table"], disabled: !flags.paraphrase });
      } catch (error) {
        if (error instanceof ParaphraseTableError) this.usageError(error.message);
        throw error;
      }
    }
    makeFolder(flags.out);

    const annotations = readAnnotations(flags.annotations);
    let resultsSources = flags.results ?? [];
    let captioning: CaptionSummary | undefined;
    if (flags.images) {
      const resultsPath = join(flags.out, "results.json");
      resultsSources = [resultsPath];
      captioning = await this.caption(flags, annotations, resultsPath, showProgress);
      if (captioning.interrupted) {
        this.log(`interrupted: ${captioning.captioned} captioned this run, kept in ${resultsPath}; run the same command again to continue`);
        process.exitCode = EXIT.interrupted;
        return { captioning };
      }
    }
    const partial = flags["allow-missing"] || flags.limit !== undefined || (captioning?.failures.length ?? 0) > 0;
    const results = readResults(resultsSources, annotations, partial);
    // One line however many, so a results file full of blanks does not bury the scores.
    if (results.empty.length === 1) this.logToStderr(`note: image ${results.empty[0]} has an empty caption; it is scored as empty`);
    if (results.empty.length > 1)
      this.logToStderr(`note: ${results.empty.length} images have an empty caption; they are scored as empty; first: image ${results.empty[0]}`);
    if (paraphrases?.path && showProgress) this.logToStderr(`reading the METEOR paraphrase table ${paraphrases.path} (${paraphrases.source})`);
    const meteor = paraphrases ? await Meteor.load({ paraphraseTable: paraphrases.path ?? undefined }) : null;
    const evaluation = await evaluateCaptions(annotations.references, results.candidates, {
      groups: groups as MetricGroup[],
      order: annotations.images.map((image) => image.id).filter((id) => results.candidates.has(id)),
      meteor,
      bootstrap: flags.bootstrap,
      seed: flags.seed,
    });
    const { perImage, ...summary } = evaluation;
    const meteorSettings = paraphrases && {
      paraphraseTable: paraphrases.path,
      paraphraseSource: paraphrases.source,
      ...(paraphrases.note ? { note: paraphrases.note } : {}),
    };
    const report = {
      annotations: flags.annotations,
      results: resultsSources.length === 1 ? resultsSources[0] : resultsSources,
      captioning,
      ...summary,
      meteor: meteorSettings,
    };
    writeCocoReports(flags.out, report, perImage);
    if (!this.jsonEnabled()) {
      this.log(metricsTable(evaluation, seedNumbersApply(annotations), useColor(process.stdout)));
      // No table is a warning (stderr); the table used describes the scores (stdout).
      if (paraphrases?.source === "not found") this.warn(describeParaphraseChoice(paraphrases));
      else if (paraphrases) this.log(describeParaphraseChoice(paraphrases));
      this.log(`${evaluation.images} images scored; metrics.json and per-image.jsonl in ${flags.out}`);
    }
    if ((captioning?.failures.length ?? 0) > 0) {
      for (const line of summariseFailures(captioning!.failures, flags.images!, join(flags.out, "metrics.json"))) this.warn(line);
      process.exitCode = EXIT.someFailed;
    }
    return report;
  }

  private async caption(
    flags: Interfaces.InferredFlags<typeof CocoEval.flags>,
    annotations: ReturnType<typeof readAnnotations>,
    resultsPath: string,
    showProgress: boolean,
  ): Promise<CaptionSummary> {
    const batching = batcherSettings(flags);
    const overrides = generationOverrides(flags);
    const { model } = await openFromFlags("image-to-text", flags, showProgress, (m) => this.usageError(m));
    const writer = CocoResultsWriter.open(resultsPath);
    const bar = progressBar(`captioning ${flags.task}`, "img", showProgress);
    const interrupt = interruptible((m) => this.warn(m));
    try {
      const summary = await captionCocoImages(model, annotations, writer, {
        imagesDir: flags.images!,
        task: flags.task,
        prompt: model.encodePrompt(imageToTextTasks.prompt(flags.task)),
        settings: model.settings(overrides),
        workers: batching.workers,
        decode: decodeOptions(flags),
        batcher: { maxBatchSize: batching.maxBatchSize, maxQueueDelayUs: batching.maxQueueDelayUs },
        limit: flags.limit,
        onStart: (n) => bar.start(n),
        onProgress: () => bar.tick(),
        signal: interrupt.signal,
      });
      bar.stop();
      if (!this.jsonEnabled() && summary.captioned > 0) {
        this.log(
          `captioned ${summary.captioned} images in ${summary.seconds.toFixed(1)} s (${(summary.captioned / summary.seconds).toFixed(2)} images/s); ${summary.resumed} already in ${resultsPath}`,
        );
      }
      return summary;
    } finally {
      interrupt.dispose();
      writer.close();
      await model.release();
    }
  }
}
