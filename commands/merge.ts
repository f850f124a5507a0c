import { Args, Flags } from "@oclif/core";
import { EmbCommand } from "../src/cli/command.js";
import { layoutFlags } from "../src/cli/flags.js";
import { checkEmbeddingFolders } from "../src/cli/inputs.js";
import { writeCombinedResults, isCocoResultsSource } from "../src/eval/coco/results-file.js";
import { mergeOutputs, writeFolderAtomically, type MergeSummary } from "../src/io/merge.js";

export default class Merge extends EmbCommand {
  static override summary = "Join the output folders of a job's shards (emb embed image|text, emb florence, emb coco eval) into one folder.";
  static override description =
    "The folders must come from one command with the same model and settings (their run.json fingerprints equal apart from the shard) and every run must have finished (run.json status complete), unless --allow-partial. Embeddings are concatenated in one stable order (images by path, as a one-process run over the same folder orders them; captions by input line), index.jsonl renumbered and metadata.parquet written; results.jsonl and errors.jsonl are joined the same way; COCO results files (or emb coco eval folders) become one results.json ordered by image id. An input in two folders is kept once when its content is the same in both and refused otherwise. The merged folder appears under --out only when whole, and its run.json lists the folders merged.";

  static override examples = [
    "<%= config.bin %> <%= command.id %> emb-shard-0 emb-shard-1 emb-shard-2 emb-shard-3 --out emb",
    "<%= config.bin %> <%= command.id %> out/shard-* --out merged --allow-partial --json",
    "<%= config.bin %> <%= command.id %> emb-shard-* --out emb --layout clip-retrieval --layout-rows 100000",
    "<%= config.bin %> <%= command.id %> coco-0/results.json coco-1/results.json --out coco-merged",
  ];

  static override enableJsonFlag = true;
  static override strict = false;

  static override args = {
    folders: Args.string({ description: "output folders of one job's shards (or COCO results files)", required: true }),
  };

  static override flags = {
    out: Flags.string({ char: "o", description: "the merged folder (new, or empty)", required: true }),
    "allow-partial": Flags.boolean({ description: "also merge unfinished folders and a set with shards missing (run.json then says partial)", default: false }),
    ...layoutFlags,
  };

  async run(): Promise<MergeSummary | { out: string; command: "coco eval"; rows: number }> {
    const { argv, flags } = await this.parse(Merge);
    const sources = argv as string[];
    const coco = sources.filter(isCocoResultsSource);
    if (coco.length > 0 && coco.length < sources.length) {
      this.usageError(`${coco.join(", ")} hold COCO results, ${sources.filter((s) => !coco.includes(s)).join(", ")} do not: merge one kind at a time`);
    }
    if (coco.length > 0) {
      if (flags.layout !== "emb") this.usageError("--layout clip-retrieval lays out embedding folders only, not COCO results; drop it");
      let rows = 0;
      writeFolderAtomically(flags.out, (dir) => (rows = writeCombinedResults(sources, dir)));
      if (!this.jsonEnabled()) this.log(`merged ${sources.length} results files: ${rows} captions in ${flags.out}/results.json`);
      return { out: flags.out, command: "coco eval", rows };
    }
    checkEmbeddingFolders(sources, { allowed: flags["allow-partial"], flag: "--allow-partial" });
    const summary = mergeOutputs(sources, flags.out, {
      allowPartial: flags["allow-partial"],
      clipRetrievalRows: flags.layout === "clip-retrieval" ? flags["layout-rows"] : undefined,
    });
    if (!this.jsonEnabled()) {
      const what = summary.command === "florence" ? "results" : "rows";
      this.log(
        `${summary.status}: merged ${summary.merged.length} folders of emb ${summary.command}: ${summary.rows} ${what}, ${summary.errors} errors in ${flags.out}`,
      );
      if (summary.missingShards.length > 0) this.warn(`shard(s) ${summary.missingShards.join(", ")} were missing`);
      for (const f of summary.merged.filter((m) => m.status !== "complete"))
        this.warn(`${f.dir} was unfinished (run.json status ${f.status ?? "not recorded"}); running the same command on ${flags.out} fills in what it lacked`);
    }
    return summary;
  }
}
