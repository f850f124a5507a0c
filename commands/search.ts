import { Args, Flags } from "@oclif/core";
import { EmbCommand } from "../src/cli/command.js";
import { modelFlags } from "../src/cli/flags.js";
import { folderModelFlags, identifyFromFlags, openFromFlags } from "../src/cli/run-support.js";
import { indexEvents, indexFlag } from "../src/cli/search-index.js";
import { writeFileSync } from "node:fs";
import { type FolderModel, runSearch, type SearchOutcome, type SearchQuery } from "../src/jobs/search.js";
import { queryLabel, searchPage } from "../src/jobs/search-page.js";
import type { IndexKind } from "../src/jobs/search-index.js";

export default class Search extends EmbCommand {
  static override summary = "Find the images of an emb embed image folder nearest to a text, an image or one of its rows.";
  static override description =
    "Each --text is embedded with the model the folder was embedded with (run.json names it; its files must still be the same, checked by content), each --image file is read and embedded as emb embed image does, and each --row takes that row's own vector. Every row of the folder is scored by cosine similarity (exact search: float32 matrix products shortlist, double precision ranks, equal scores go to the lower row) and the -k best are printed per query, or with --json as one document. Shard folders of one job can be given together.";

  static override examples = [
    '<%= config.bin %> <%= command.id %> photos-emb --text "a red car at night" -k 5',
    "<%= config.bin %> <%= command.id %> photos-emb --image query.jpg --row 42 --json",
    '<%= config.bin %> <%= command.id %> emb-shard-0 emb-shard-1 --text "a dog on a beach"',
  ];

  static override enableJsonFlag = true;
  static override strict = false;

  static override args = {
    folders: Args.string({ description: "an emb embed image output folder (or the folders of one job's shards)", required: true }),
  };

  static override flags = {
    text: Flags.string({ description: "a text query, embedded with the folder's model (repeatable)", multiple: true }),
    image: Flags.string({ description: "an image file to query with, embedded with the folder's model (repeatable)", multiple: true }),
    row: Flags.integer({ description: "a row of the folder (index.jsonl's row) to query with (repeatable)", multiple: true, min: 0 }),
    k: Flags.integer({ char: "k", description: "results per query", default: 10, min: 1 }),
    jsonl: Flags.boolean({
      description: "print one JSON line per result ({query, rank, row, path, score}) instead of the table, for scripts and jq",
      default: false,
      exclusive: ["json"],
    }),
    html: Flags.string({ description: "also write the results as a self-contained HTML page (thumbnails, scores, paths; one section per query) to this file" }),
    // Exact by default at any size: a million rows answer in seconds per query batch, where an HNSW
    // graph first takes an hour or more to build and, on unstructured vectors, found 7% of the true
    // ten nearest (bench/RESULTS.md).
    index: indexFlag("whose results may miss a true neighbour", "exact"),
    // the model itself comes from the folder's run.json: only how to run it is a flag
    device: modelFlags.device,
    threads: modelFlags.threads,
    offline: modelFlags.offline,
    progress: Flags.boolean({ description: "show download and HNSW build progress on stderr", default: true, allowNo: true }),
  };

  async run(): Promise<SearchOutcome> {
    const { argv, flags } = await this.parse(Search);
    const showProgress = flags.progress && !this.jsonEnabled();
    const queries: SearchQuery[] = [
      ...(flags.text ?? []).map((text) => ({ text })),
      ...(flags.image ?? []).map((image) => ({ image })),
      ...(flags.row ?? []).map((row) => ({ row })),
    ];
    if (queries.length === 0) this.usageError("no query: give --text, --image or --row (each repeatable)");
    const folderFlags = (m: FolderModel) => folderModelFlags(m, flags);
    const usage = (message: string) => this.usageError(message);
    const outcome = await runSearch({
      folders: argv as string[],
      queries,
      k: flags.k,
      index: flags.index as IndexKind,
      indexEvents: indexEvents(showProgress),
      openText: async (m) => (await openFromFlags("text-embedder", folderFlags(m), showProgress, usage)).model,
      openImage: async (m) => (await openFromFlags("image-embedder", folderFlags(m), showProgress, usage)).model,
      identify: (m) => identifyFromFlags("image-embedder", folderFlags(m), showProgress, usage),
    });
    if (flags.html) writeFileSync(flags.html, await searchPage(outcome));
    if (flags.jsonl) {
      for (const { query, results } of outcome.results) for (const hit of results) this.log(JSON.stringify({ query, ...hit }));
    } else if (!this.jsonEnabled()) {
      for (const { query, results } of outcome.results) {
        this.log(queryLabel(query));
        for (const hit of results) this.log(`  ${String(hit.rank).padStart(3)}  ${hit.score.toFixed(4)}  ${hit.path}`);
      }
      if (flags.html) this.log(`page: ${flags.html}`);
    }
    return outcome;
  }
}
