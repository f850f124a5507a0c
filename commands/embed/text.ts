import { Args, Flags } from "@oclif/core";
import { EmbCommand } from "../../src/cli/command.js";
import { runStatus } from "../../src/cli/errors.js";
import { readFileSync } from "node:fs";
import {
  batcherSettings,
  batchingFlags,
  clipRetrievalLayout,
  embeddingsOutFlag,
  layoutFlags,
  modelFlags,
  outputFlags,
  shardFlags,
} from "../../src/cli/flags.js";
import { shardFromFlags } from "../../src/cli/inputs.js";
import { progressBar } from "../../src/cli/progress.js";
import { openFromFlags } from "../../src/cli/run-support.js";
import { recordedRun } from "../../src/jobs/run-record.js";
import { EmbeddingStore, TEXT_METADATA } from "../../src/io/embedding-store.js";
import { parseCaptionFile, parseIdRows, readInputFile, type Caption } from "../../src/sources/text.js";
import { embedTexts, textKey, textsOfShard, type EmbedTextsResult, type TextInput, type TextRecord } from "../../src/jobs/embed-text.js";
import { versions } from "../../src/version.js";

export default class EmbedText extends EmbCommand {
  static override summary = "Embed captions with SigLIP's text tower, tokenised exactly as SiglipTokenizer does.";
  static override description =
    'Captions come from the arguments, from --file (one per line, or JSON Lines with a text field) or from standard input. Each is lowercased, stripped of ASCII punctuation, whitespace-collapsed, tokenised, ended with </s> and padded to the model\'s 64 tokens, exactly as the Python SiglipTokenizer does with padding="max_length" (padding to the longest caption instead silently ruins accuracy). --ids embeds pre-tokenised rows of 64 ids instead. Rows of <out>/embeddings.npy follow the input order; <out>/index.jsonl holds {row, line, text, sha256, truncated}. Re-running the same command resumes.';

  static override examples = [
    '<%= config.bin %> <%= command.id %> "a photo of a cat" "a photo of a dog" --out text-emb',
    "<%= config.bin %> <%= command.id %> --file captions.txt --normalize --json",
    "<%= config.bin %> <%= command.id %> --file captions.jsonl --field caption",
    "cat captions.txt | <%= config.bin %> <%= command.id %> --out text-emb",
    "<%= config.bin %> <%= command.id %> --ids input_ids.json",
    "<%= config.bin %> <%= command.id %> --file captions.txt --shard 0/4 --out text-emb/shard-0",
  ];

  static override enableJsonFlag = true;
  static override strict = false;

  static override args = {
    // ignoreStdin: piped input is read below as one caption per line, not as one argument.
    captions: Args.string({ description: "captions to embed (or use --file, --ids or standard input)", ignoreStdin: true }),
  };

  static override flags = {
    ...modelFlags,
    ...embeddingsOutFlag("text"),
    ...outputFlags,
    ...layoutFlags,
    ...batchingFlags(64),
    file: Flags.string({ char: "f", description: "captions file: .txt (one per line) or .jsonl", exclusive: ["ids"] }),
    field: Flags.string({ description: "the caption field of a .jsonl file", default: "text" }),
    ids: Flags.string({
      description: "embed token ids instead: a JSON array of rows, JSON Lines rows, or perf_analyzer --input-data JSON",
      exclusive: ["file"],
    }),
    ...shardFlags,
  };

  async run(): Promise<EmbedTextsResult & { out: string; rows: number }> {
    const { argv, flags } = await this.parse(EmbedText);
    const batching = batcherSettings(flags);
    const showProgress = flags.progress && !this.jsonEnabled();
    const shard = shardFromFlags(flags.shard, (m) => this.logToStderr(m));
    const raw = this.readInputs(argv as string[], flags);
    const { model, resolved, source } = await openFromFlags("text-embedder", flags, showProgress, (m) => this.usageError(m));
    const inputs: TextInput[] = textsOfShard(
      "ids" in raw ? parseIdRows(raw.ids, flags.ids!, model.info.length, model.info.vocabSize).map((ids, line) => ({ line, ids })) : raw.captions,
      shard,
    );

    const fingerprint = {
      ...source,
      graph: model.info.graph,
      tokenizer: { length: model.info.length, padding: "max_length" },
      normalize: flags.normalize || model.info.normalizedByModel,
    };
    const store = EmbeddingStore.open<TextRecord>(flags.out, model.info.dim, fingerprint, textKey, shard ?? null, {
      metadata: TEXT_METADATA,
      clipRetrieval: clipRetrievalLayout(flags, "text"),
    });
    const runInfo = {
      command: "embed text",
      fingerprint,
      model: { spec: flags.model, ...resolved, ...model.info },
      batcher: { maxBatchSize: batching.maxBatchSize, maxQueueDelayUs: batching.maxQueueDelayUs },
      versions: versions(),
    };
    const bar = progressBar("embedding", "captions", showProgress && inputs.length > 100);
    bar.start(inputs.length);
    const { result, rows, status } = await recordedRun(
      store,
      runInfo,
      (message) => this.warn(message),
      (signal) =>
        embedTexts(model, inputs, {
          store,
          normalize: flags.normalize,
          batcher: { maxBatchSize: batching.maxBatchSize, maxQueueDelayUs: batching.maxQueueDelayUs },
          onProgress: () => bar.tick(),
          signal,
        }),
      async () => {
        bar.stop();
        await model.release();
      },
    );

    if (result.truncatedLines.length > 0) {
      const lines = result.truncatedLines
        .slice(0, 5)
        .map((l) => l + 1)
        .join(", ");
      this.warn(
        `${result.truncatedLines.length} caption(s) were longer than ${model.info.length} tokens and were truncated (line ${lines}${result.truncatedLines.length > 5 ? ", ..." : ""})`,
      );
    }
    if (!this.jsonEnabled()) {
      const rate = result.embedded / Math.max(result.seconds, 1e-9);
      this.log(
        `${status}: ${result.embedded} embedded, ${result.unchanged} unchanged, ${result.failed} failed of ${result.total} in ${result.seconds.toFixed(1)} s ` +
          `(${rate.toFixed(1)} captions/s, ${model.info.provider}); ${rows} rows in ${flags.out}/embeddings.npy`,
      );
      if (result.failed > 0) this.log(`failed captions and reasons: ${flags.out}/errors.jsonl`);
    }
    process.exitCode = runStatus(result);
    return { ...result, out: flags.out, rows };
  }

  /** The inputs, read before anything is opened: captions as they are, id rows as text to validate against the model. */
  private readInputs(argv: string[], flags: { file?: string; field: string; ids?: string }): { ids: string } | { captions: Caption[] } {
    if (flags.ids) return { ids: readInputFile(flags.ids, "--ids") };
    if (flags.file) return { captions: parseCaptionFile(readInputFile(flags.file, "--file"), flags.file, flags.field) };
    if (argv.length > 0) return { captions: argv.map((text, line) => ({ line, text })) };
    const piped = process.stdin.isTTY ? "" : readFileSync(0, "utf8");
    if (piped.length === 0) this.usageError("no captions given: pass them as arguments, with --file, with --ids, or on standard input");
    return { captions: parseCaptionFile(piped, "stdin", flags.field) };
  }
}
