import { Flags } from "@oclif/core";
import { EmbCommand } from "../../src/cli/command.js";
import { runStatus } from "../../src/cli/errors.js";
import { checkEmbeddingFolders } from "../../src/cli/inputs.js";
import { checkOutputFolder } from "../../src/io/directories.js";
import { decodeOptions, evaluationFlags, extensionList } from "../../src/cli/flags.js";
import { jobOutput } from "../../src/cli/job-output.js";
import { dtypeFromFlags, identifyFromFlags, openFromFlags } from "../../src/cli/run-support.js";
import { WEIGHTINGS, type Weighting } from "../../src/eval/knn/classifier.js";
import { checkTemplate, DEFAULT_TEMPLATE, NAMES_MODES, type NamesMode } from "../../src/eval/knn/prompts.js";
import { DEFAULT_HNSW } from "../../src/eval/knn/search.js";
import { runKnnEvalJob, type KnnEvalJob, type KnnEvalOutcome } from "../../src/jobs/knn-eval.js";

export default class KnnEval extends EmbCommand {
  static override summary = "Zero-shot and few-shot KNN accuracy (top-1/top-5) of image embeddings on a folder-per-class dataset.";
  static override description =
    `Reads <data>/train/<label>/* and <data>/valid/<label>/*, embeds the images (reusing an emb embed image folder given by --embeddings, and a content-addressed cache, so a second run re-embeds nothing), indexes the references in HNSW (or searches exactly with --exact) and classifies each valid image from its k nearest references with scikit-learn's KNeighborsClassifier semantics (metric cosine). Few-shot (--shots N, the default with N=10): the references are the first N train images of each class. Zero-shot (--zero-shot): one text embedding per class, the mean over --template prompts filled with the class's names from the label mapping ({text}) or its label ({label}). Top-1 is the accuracy of sklearn's predict(); top-5 is top_k_accuracy_score over predict_proba(). Writes report.json, per-class.csv and predictions.jsonl to --out.`;

  static override examples = [
    "<%= config.bin %> <%= command.id %> --data ./imagenet-subset --zero-shot --shots 10",
    '<%= config.bin %> <%= command.id %> --data ./imagenet-subset --zero-shot --template "A photo of {text}." --template "This is a photo containing images of {text}."',
    "<%= config.bin %> <%= command.id %> --data ./flowers --shots 5 --seed 1 --weights uniform -k 5 --exact --json",
    "<%= config.bin %> <%= command.id %> --data ./imagenet-subset --embeddings ./imagenet-emb --shots 10",
  ];

  static override enableJsonFlag = true;

  static override flags = {
    data: Flags.string({ char: "d", description: "dataset root holding train/<label>/ and valid/<label>/ folders", required: true }),
    labels: Flags.string({
      description:
        "label mapping, one '<label> <comma-separated names>' line per class (default: <data>/LOC_synset_mapping.txt, else the shipped ImageNet mapping when it names every class, else the folder names)",
    }),
    "zero-shot": Flags.boolean({ description: "classify against one text embedding per class", default: false }),
    shots: Flags.integer({ description: "few-shot: train images per class used as references (default 10 unless only --zero-shot is given)", min: 1 }),
    seed: Flags.integer({ description: "draw the few-shot images at random with this seed instead of taking the first N" }),
    template: Flags.string({
      char: "t",
      description: "zero-shot prompt; {text} is the class's names, {label} its label; repeat to average several",
      multiple: true,
      default: [DEFAULT_TEMPLATE],
    }),
    "per-template": Flags.boolean({ description: "with several templates, also score each one alone", default: false }),
    names: Flags.string({
      description: "how a class's names fill {text}: all (as the mapping lists them), first, or each (one prompt per name, averaged)",
      options: NAMES_MODES,
      default: "all",
    }),
    k: Flags.integer({ char: "k", description: "neighbours per query", default: 10, min: 1 }),
    weights: Flags.string({ description: "neighbour votes: distance (1/d) or uniform", options: WEIGHTINGS, default: "distance" }),
    exact: Flags.boolean({ description: "search exactly instead of through the HNSW index", default: false }),
    "ef-search": Flags.integer({ description: "HNSW candidate list size at query time", default: DEFAULT_HNSW.efSearch, min: 1 }),
    "agreement-sample": Flags.integer({ description: "queries also searched exactly to report how often HNSW agrees (0: skip)", default: 1000, min: 0 }),
    out: Flags.string({ char: "o", description: "folder for report.json, per-class.csv and predictions.jsonl", default: "knn-eval" }),
    confusions: Flags.integer({ description: "confused class pairs shown per method", default: 10, min: 0 }),
    ...evaluationFlags,
  };

  async run(): Promise<KnnEvalOutcome> {
    const { flags } = await this.parse(KnnEval);
    for (const t of flags.template) checkTemplate(t);
    const showProgress = flags.progress && !this.jsonEnabled();
    dtypeFromFlags("image-embedder", flags.dtype, (m) => this.usageError(m)); // checked now; the models open only when needed
    // The reports are written at the end: a folder that cannot take them is named before the work.
    checkOutputFolder(flags.out, "--out");
    if (flags.embeddings) checkEmbeddingFolders(flags.embeddings, undefined);
    const job: KnnEvalJob = {
      data: flags.data,
      labelsFile: flags.labels,
      extensions: extensionList(flags.ext),
      shots: flags.shots ?? (flags["zero-shot"] ? undefined : 10),
      seed: flags.seed,
      zeroShot: flags["zero-shot"],
      templates: flags.template,
      perTemplate: flags["per-template"],
      names: flags.names as NamesMode,
      k: flags.k,
      weighting: flags.weights as Weighting,
      search: flags.exact ? "exact" : "hnsw",
      hnsw: { ...DEFAULT_HNSW, efSearch: flags["ef-search"] },
      agreementSample: flags["agreement-sample"],
      embeddingsDirs: flags.embeddings,
      cacheDir: flags["cache-dir"],
      out: flags.out,
      confusions: flags.confusions,
      workers: flags.workers,
      decode: decodeOptions(flags),
      batcher: { maxBatchSize: flags["batch-size"], maxQueueDelayUs: 100_000 },
      open: (role) => openFromFlags(role, flags, showProgress, (m) => this.usageError(m)),
      identify: (role) => identifyFromFlags(role, flags, showProgress, (m) => this.usageError(m)),
    };
    const outcome = await runKnnEvalJob(job, jobOutput(this, showProgress));
    process.exitCode = runStatus({ interrupted: outcome.interrupted, failed: outcome.failures.length });
    return outcome;
  }
}
