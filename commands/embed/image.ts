import { Args } from "@oclif/core";
import { EmbCommand } from "../../src/cli/command.js";
import { EXIT, runStatus } from "../../src/cli/errors.js";
import {
  batcherSettings,
  batchingFlags,
  clipRetrievalLayout,
  decodeOptions,
  embeddingsOutFlag,
  extensionList,
  filesFromFlags,
  imageInputFlags,
  layoutFlags,
  modelFlags,
  imageModelFlags,
  outputFlags,
  shardFlags,
} from "../../src/cli/flags.js";
import { imageSourcesFromFlags } from "../../src/cli/inputs.js";
import { progressBar } from "../../src/cli/progress.js";
import { openFromFlags } from "../../src/cli/run-support.js";
import { embedImageSummary, runEmbedImageJob, type EmbedImageOutcome } from "../../src/jobs/embed-image.js";

export default class EmbedImage extends EmbCommand {
  static override summary = "Embed a folder of images (SigLIP, SigLIP 2, CLIP, DINOv2): embeddings.npy + index.jsonl, resumable.";
  static override description =
    `Walks the given folders (recursively, sorted), files, webdataset .tar shards (each sample's image, recorded as <tar>/<key>) and --files-from lists, optionally one --shard of them, decodes and resizes each image as the model's Python processor does (SigLIP: to its size; CLIP and DINOv2: shortest edge, then center crop; SigLIP 2 NaFlex: aspect ratio kept, to whole patches within --max-num-patches), runs them through the model in dynamic batches and appends one row per image to <out>/embeddings.npy (float32, N x D) with a matching record in <out>/index.jsonl (row, path, bytes, mtime, sha256, size). Files that cannot be read or decoded are listed in <out>/errors.jsonl and the run goes on. Re-running the same command resumes: files already embedded are skipped, changed files are embedded again. Exit status ${EXIT.someFailed} means some files failed.`;

  static override examples = [
    "<%= config.bin %> <%= command.id %> ./photos --out ./photos-emb",
    "<%= config.bin %> <%= command.id %> ./photos --model ./models/siglip --dtype fp16 --normalize --json",
    "HF_HUB_OFFLINE=1 <%= config.bin %> <%= command.id %> a.jpg b.png --out emb",
    "<%= config.bin %> <%= command.id %> ./photos --shard 2/4 --out emb/shard-2",
    "find ./photos -name '*.jpg' | <%= config.bin %> <%= command.id %> --files-from - --out emb",
    "<%= config.bin %> <%= command.id %> shards/00000.tar shards/00001.tar --out emb",
  ];

  static override enableJsonFlag = true;
  static override strict = false;

  static override args = {
    // ignoreStdin: standard input is a path list only with --files-from -.
    inputs: Args.string({ description: "image files, folders or webdataset .tar shards to embed (or --files-from)", ignoreStdin: true }),
  };

  static override flags = {
    ...modelFlags,
    ...imageModelFlags,
    ...embeddingsOutFlag("image"),
    ...outputFlags,
    ...layoutFlags,
    ...batchingFlags(16),
    ...imageInputFlags,
    ...filesFromFlags,
    ...shardFlags,
  };

  async run(): Promise<EmbedImageOutcome> {
    const { argv, flags } = await this.parse(EmbedImage);
    const sources = await imageSourcesFromFlags(argv as string[], flags, (m) => this.logToStderr(m));
    const batching = batcherSettings(flags);
    const showProgress = flags.progress && !this.jsonEnabled();
    const opened = await openFromFlags("image-embedder", flags, showProgress, (m) => this.usageError(m));
    const bar = progressBar("embedding", "img", showProgress);
    const outcome = await runEmbedImageJob(
      {
        ...sources,
        opened,
        modelSpec: flags.model,
        out: flags.out,
        normalize: flags.normalize,
        decode: decodeOptions(flags),
        clipRetrieval: clipRetrievalLayout(flags, "image"),
        extensions: extensionList(flags.ext),
        workers: batching.workers,
        batcher: { maxBatchSize: batching.maxBatchSize, maxQueueDelayUs: batching.maxQueueDelayUs },
      },
      {
        warn: (message) => this.warn(message),
        onStart: (total) => bar.start(total),
        onProgress: (e) => bar.tick({ note: e.outcome === "failed" ? `(failed: ${e.path})` : "" }),
        onEnd: () => bar.stop(),
      },
    );
    if (!this.jsonEnabled()) for (const line of embedImageSummary(outcome, opened.model.info.provider)) this.log(line);
    process.exitCode = runStatus(outcome);
    return outcome;
  }
}
