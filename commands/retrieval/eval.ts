import { Flags } from "@oclif/core";
import { EmbCommand } from "../../src/cli/command.js";
import { runStatus } from "../../src/cli/errors.js";
import { checkEmbeddingFolders } from "../../src/cli/inputs.js";
import { decodeOptions, evaluationFlags } from "../../src/cli/flags.js";
import { jobOutput } from "../../src/cli/job-output.js";
import { dtypeFromFlags, identifyFromFlags, openFromFlags } from "../../src/cli/run-support.js";
import { DEFAULT_RECALL_K } from "../../src/eval/retrieval/recall.js";
import { checkOutputFolder } from "../../src/io/directories.js";
import { runRetrievalEvalJob, type RetrievalEvalOutcome } from "../../src/jobs/retrieval-eval.js";

export default class RetrievalEval extends EmbCommand {
  static override summary = "Image-text retrieval recall@k (text->image and image->text) on COCO, Flickr30k or any captioned image set.";
  static override description =
    "Reads the annotations (Karpathy's dataset_coco.json or dataset_flickr30k.json with --split, BLIP's [{image, caption: [...]}] list, COCO's captions_*.json or CLIP_benchmark's flickr30k_test_karpathy.txt), embeds every image and caption with --model (reusing an emb embed image folder given by --embeddings, an emb embed text folder given by --text-embeddings, and the content-addressed cache, so a second run re-embeds nothing) and scores them as CLIP_benchmark's zeroshot_retrieval does: every caption is a text->image query that hits when its image is among the k most similar images (image_retrieval_recall@k); every image is an image->text query that hits when any of its captions is among the k most similar captions (text_retrieval_recall@k). Similarities are cosines of float32 unit vectors; equal scores rank the earlier image or caption first. An image that cannot be read is reported and left out with its captions. Writes report.json (CLIP_benchmark's result fields: dataset, model, task, metrics) and queries.jsonl (every query's rank of its best match, 0 for first) to --out.";

  static override examples = [
    "<%= config.bin %> <%= command.id %> --annotations dataset_coco.json --images coco --model siglip",
    "<%= config.bin %> <%= command.id %> --annotations flickr30k_test_karpathy.json --images flickr30k-images --model clip --json",
    "<%= config.bin %> <%= command.id %> --annotations dataset_coco.json --images coco --embeddings coco-emb --text-embeddings coco-captions-emb -k 1 -k 5",
  ];

  static override enableJsonFlag = true;

  static override flags = {
    annotations: Flags.string({
      char: "a",
      description:
        "the caption annotations: Karpathy's dataset_*.json, BLIP's list, COCO's captions_*.json (CLIP_benchmark's coco_test_karpathy.json) or CLIP_benchmark's flickr30k_test_karpathy.txt",
      required: true,
    }),
    images: Flags.string({ char: "i", description: "the folder the annotations' image paths are relative to", required: true }),
    split: Flags.string({
      description: "Karpathy's split to evaluate (test: COCO's 5k, Flickr30k's 1k); other formats have one split per file",
      default: "test",
    }),
    k: Flags.integer({ char: "k", description: "recall@k to report (repeatable)", multiple: true, default: [...DEFAULT_RECALL_K], min: 1 }),
    "text-embeddings": Flags.string({
      description: "an emb embed text output folder holding every caption (matched by content) to take caption vectors from; repeat for shards",
      multiple: true,
    }),
    out: Flags.string({ char: "o", description: "folder for report.json and queries.jsonl", default: "retrieval-eval" }),
    ...evaluationFlags,
  };

  async run(): Promise<RetrievalEvalOutcome> {
    const { flags } = await this.parse(RetrievalEval);
    const showProgress = flags.progress && !this.jsonEnabled();
    dtypeFromFlags("image-embedder", flags.dtype, (m) => this.usageError(m)); // checked now; the models open only when needed
    checkOutputFolder(flags.out, "--out");
    for (const dirs of [flags.embeddings, flags["text-embeddings"]]) if (dirs) checkEmbeddingFolders(dirs, undefined);
    const ks = [...new Set(flags.k)].sort((a, b) => a - b);
    const outcome = await runRetrievalEvalJob(
      {
        annotations: flags.annotations,
        images: flags.images,
        split: flags.split,
        ks,
        embeddingsDirs: flags.embeddings,
        textEmbeddingsDirs: flags["text-embeddings"],
        cacheDir: flags["cache-dir"],
        workers: flags.workers,
        decode: decodeOptions(flags),
        batcher: { maxBatchSize: flags["batch-size"], maxQueueDelayUs: 100_000 },
        threads: flags.threads,
        out: flags.out,
        open: (role) => openFromFlags(role, flags, showProgress, (m) => this.usageError(m)),
        identify: (role) => identifyFromFlags(role, flags, showProgress, (m) => this.usageError(m)),
      },
      jobOutput(this, showProgress),
    );
    process.exitCode = runStatus({ interrupted: outcome.interrupted, failed: outcome.failures.length });
    return outcome;
  }
}
