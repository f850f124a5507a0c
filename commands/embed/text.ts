import { Args, Flags } from "@oclif/core";
import { readFileSync } from "node:fs";
import { EmbCommand } from "../../src/cli/command.js";
import { runStatus } from "../../src/cli/errors.js";
import {
  batcherSettings,
  batchingFlags,
  clipRetrievalLayout,
  embeddingsOutFlag,
  layoutFlags,
  modelFlags,
  textFlags,
  outputFlags,
  shardFlags,
} from "../../src/cli/flags.js";
import { shardFromFlags } from "../../src/cli/inputs.js";
import { progressBar, type ProgressBar } from "../../src/cli/progress.js";
import { openFromFlags } from "../../src/cli/run-support.js";
import { embedTextSummary, readTextSource, runEmbedTextJob, type TextSource } from "../../src/jobs/embed-text.js";
import { parseCaptionFile } from "../../src/sources/text.js";

export default class EmbedText extends EmbCommand {
  static override summary = "Embed captions with the model's text tower, tokenised exactly as its Python tokenizer does.";
  static override description =
    "Captions come from the arguments, from --file (one per line, or JSON Lines with a text field) or from standard input. Each is lowercased, stripped of ASCII punctuation, whitespace-collapsed, tokenised, ended with </s> and padded to the model's 64 tokens, exactly as the Python SiglipTokenizer does with padding=\"max_length\" (padding to the longest caption instead silently ruins accuracy). A SigLIP 2 model (Gemma's tokenizer) gets its captions as its model card says: lowercased (--no-lowercase keeps their case), tokenised as GemmaTokenizerFast does, ended with <eos> and padded to 64. A CLIP model's captions are tokenised as CLIPTokenizerFast does: <|startoftext|>, at most 75 pieces, <|endoftext|>, padded to 77. An image-only model (DINOv2) is refused. --ids embeds pre-tokenised rows of 64 ids instead. Rows of <out>/embeddings.npy follow the input order; <out>/index.jsonl holds {row, line, text, sha256, truncated}. Re-running the same command resumes.";

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
    ...textFlags,
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

  async run() {
    const { argv, flags } = await this.parse(EmbedText);
    const batching = batcherSettings(flags);
    const showProgress = flags.progress && !this.jsonEnabled();
    const shard = shardFromFlags(flags.shard, (m) => this.logToStderr(m));
    const texts = this.readInputs(argv as string[], flags);
    const opened = await openFromFlags("text-embedder", flags, showProgress, (m) => this.usageError(m));
    let bar: ProgressBar | undefined;
    const { status, ...outcome } = await runEmbedTextJob(
      {
        opened,
        modelSpec: flags.model,
        texts,
        shard,
        out: flags.out,
        normalize: flags.normalize,
        clipRetrieval: clipRetrievalLayout(flags, "text"),
        batcher: { maxBatchSize: batching.maxBatchSize, maxQueueDelayUs: batching.maxQueueDelayUs },
      },
      {
        warn: (message) => this.warn(message),
        // A bar only for long inputs: a few captions take less time than drawing it.
        onStart: (total) => (bar = progressBar("embedding", "captions", showProgress && total > 100)).start(total),
        onProgress: () => bar?.tick(),
        onEnd: () => bar?.stop(),
      },
    );
    if (!this.jsonEnabled()) for (const line of embedTextSummary({ status, ...outcome }, opened.model.info.provider)) this.log(line);
    process.exitCode = runStatus(outcome);
    return outcome; // --json has always printed the counts without the status
  }

  /** The inputs, read before anything is opened: captions as they are, id rows as text to validate against the model. */
  private readInputs(argv: string[], flags: { file?: string; field: string; ids?: string }): TextSource {
    if (flags.ids) return readTextSource(flags.ids, { ids: true, label: "--ids" });
    if (flags.file) return readTextSource(flags.file, { field: flags.field, label: "--file" });
    if (argv.length > 0) return { captions: argv.map((text, line) => ({ line, text })) };
    const piped = process.stdin.isTTY ? "" : readFileSync(0, "utf8");
    if (piped.length === 0) this.usageError("no captions given: pass them as arguments, with --file, with --ids, or on standard input");
    return { captions: parseCaptionFile(piped, "stdin", flags.field) };
  }
}
