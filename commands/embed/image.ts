import { Args } from "@oclif/core";
import { EmbCommand } from "../../src/cli/command.js";
import { EXIT, runStatus } from "../../src/cli/errors.js";
import {
  batcherSettings,
  batchingFlags,
  clipRetrievalLayout,
  decodeFingerprint,
  decodeOptions,
  embeddingsOutFlag,
  extensionList,
  filesFromFlags,
  imageInputFlags,
  layoutFlags,
  modelFlags,
  outputFlags,
  shardFlags,
} from "../../src/cli/flags.js";
import { imageSourcesFromFlags } from "../../src/cli/inputs.js";
import { progressBar } from "../../src/cli/progress.js";
import { openFromFlags, recordedRun } from "../../src/cli/run-support.js";
import { EmbeddingStore, IMAGE_METADATA } from "../../src/io/embedding-store.js";
import { embedImages, type EmbedImagesResult } from "../../src/pipeline/embed-images.js";
import { versions } from "../../src/version.js";

export default class EmbedImage extends EmbCommand {
  static override summary = "Embed a folder of images with SigLIP: embeddings.npy + index.jsonl, resumable.";
  static override description =
    `Walks the given folders (recursively, sorted), files, webdataset .tar shards (each sample's image, recorded as <tar>/<key>) and --files-from lists, optionally one --shard of them, decodes and resizes each image as the Python SigLIP processor does, runs them through the model in dynamic batches and appends one row per image to <out>/embeddings.npy (float32, N x D) with a matching record in <out>/index.jsonl (row, path, bytes, mtime, sha256, size). Files that cannot be read or decoded are listed in <out>/errors.jsonl and the run goes on. Re-running the same command resumes: files already embedded are skipped, changed files are embedded again. Exit status ${EXIT.someFailed} means some files failed.`;

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
    ...embeddingsOutFlag("image"),
    ...outputFlags,
    ...layoutFlags,
    ...batchingFlags(16),
    ...imageInputFlags,
    ...filesFromFlags,
    ...shardFlags,
  };

  async run(): Promise<EmbedImagesResult & { out: string; rows: number }> {
    const { argv, flags } = await this.parse(EmbedImage);
    const sources = await imageSourcesFromFlags(argv as string[], flags, (m) => this.logToStderr(m));
    const batching = batcherSettings(flags);
    const showProgress = flags.progress && !this.jsonEnabled();
    const { model, resolved, source } = await openFromFlags("image-embedder", flags, showProgress, (m) => this.usageError(m));

    const fingerprint = {
      ...source,
      graph: model.info.graph,
      preprocessing: model.preprocessing,
      normalize: flags.normalize || model.info.normalizedByModel,
      ...decodeFingerprint(flags),
    };
    const store = EmbeddingStore.open(flags.out, model.dim, fingerprint, undefined, sources.shard ?? null, {
      metadata: IMAGE_METADATA,
      clipRetrieval: clipRetrievalLayout(flags, "image"),
    });
    const runInfo = {
      command: "embed image",
      fingerprint,
      model: { spec: flags.model, ...resolved, ...model.info },
      decode: "sharp; EXIF orientation applied; converted to RGB as PIL's convert('RGB') does; PIL-exact bicubic resize",
      batcher: { maxBatchSize: batching.maxBatchSize, maxQueueDelayUs: batching.maxQueueDelayUs },
      versions: versions(),
    };
    const bar = progressBar("embedding", "img", showProgress);
    const { result, rows, status } = await recordedRun(
      store,
      runInfo,
      (message) => this.warn(message),
      (signal) =>
        embedImages(model, {
          ...sources,
          store,
          extensions: extensionList(flags.ext),
          normalize: flags.normalize,
          decode: decodeOptions(flags),
          workers: batching.workers,
          batcher: { maxBatchSize: batching.maxBatchSize, maxQueueDelayUs: batching.maxQueueDelayUs },
          onStart: (total) => bar.start(total),
          onProgress: (e) => bar.tick({ note: e.outcome === "failed" ? `(failed: ${e.path})` : "" }),
          signal,
        }),
      async () => {
        bar.stop();
        await model.release();
      },
    );

    if (!this.jsonEnabled()) {
      const rate = result.embedded / Math.max(result.seconds, 1e-9);
      this.log(
        `${status}: ${result.embedded} embedded, ${result.unchanged} unchanged, ${result.failed} failed of ${result.total} ` +
          `in ${result.seconds.toFixed(1)} s (${rate.toFixed(1)} images/s, ${model.info.provider}); ${rows} rows in ${flags.out}/embeddings.npy`,
      );
      if (result.failed > 0) this.log(`failed files and reasons: ${flags.out}/errors.jsonl`);
    }
    process.exitCode = runStatus(result);
    return { ...result, out: flags.out, rows };
  }
}
