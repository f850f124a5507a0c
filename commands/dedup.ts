import { Args, Flags } from "@oclif/core";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { EmbCommand } from "../src/cli/command.js";
import { dedupProgress, indexEvents, indexFlag } from "../src/cli/search-index.js";
import { dedupFiles, type DedupOutcome, KEEP_RULES, type KeepRule, runDedup } from "../src/jobs/dedup.js";
import { dedupPage, PAGE_GROUPS } from "../src/jobs/dedup-page.js";
import type { IndexKind } from "../src/jobs/search-index.js";

export default class Dedup extends EmbCommand {
  static override summary = "Group the exact and near-duplicate images of an emb embed image folder, with a keep/drop suggestion per group.";
  static override description =
    "Files with the same content (index.jsonl's sha256) are exact duplicates; images whose embeddings' cosine similarity reaches --threshold are near-duplicates (resized, re-encoded, lightly edited copies), grouped as the connected components of that neighbour graph, found exactly (rows are split into lists around k-means centres, and only pairs the triangle inequality cannot rule out are scored; an HNSW graph is the approximate alternative: see --index). Each group suggests one file to keep (--keep largest: the most pixels, then the most bytes, then the first path; smallest; first: the first path) and the others to drop. Prints a summary and the groups, or with --json one document; --out DIR writes groups.jsonl (one group per line) and drop.txt (the files to drop, one per line, ready for --files-from or xargs). What counts as near depends on the model: check a threshold on a sample of groups before deleting anything. Shard folders of one job can be given together.";

  static override examples = [
    "<%= config.bin %> <%= command.id %> photos-emb",
    "<%= config.bin %> <%= command.id %> photos-emb --threshold 0.97 --out photos-dedup",
    "<%= config.bin %> <%= command.id %> emb-shard-0 emb-shard-1 --keep first --json > groups.json",
  ];

  static override enableJsonFlag = true;
  static override strict = false;

  static override args = {
    folders: Args.string({ description: "an emb embed image output folder (or the folders of one job's shards)", required: true }),
  };

  static override flags = {
    threshold: Flags.string({ description: "cosine similarity at or above which two images are near-duplicates (0 to 1)", default: "0.95" }),
    keep: Flags.string({ description: "which file of a group to keep", options: [...KEEP_RULES], default: "largest" }),
    out: Flags.string({ char: "o", description: "write groups.jsonl and drop.txt to this folder" }),
    html: Flags.string({
      description: `also write a contact sheet of the groups (thumbnails, keep/drop, similarity, size; the ${PAGE_GROUPS} largest groups) as a self-contained HTML page to this file`,
    }),
    index: indexFlag("which may miss near-duplicate pairs (a group then splits or loses a member)", "exact"),
    progress: Flags.boolean({ description: "show progress (the neighbour search, an HNSW build) on stderr", default: true, allowNo: true }),
  };

  async run(): Promise<DedupOutcome> {
    const { argv, flags } = await this.parse(Dedup);
    const threshold = Number(flags.threshold);
    if (flags.threshold.trim() === "" || Number.isNaN(threshold))
      this.usageError(`--threshold ${flags.threshold} is not a number: give a cosine similarity such as 0.95`);
    const showProgress = flags.progress && !this.jsonEnabled();
    const outcome = await runDedup(argv as string[], {
      threshold,
      keep: flags.keep as KeepRule,
      index: flags.index as IndexKind,
      indexEvents: indexEvents(showProgress),
      onProgress: dedupProgress(showProgress),
    });
    if (flags.out) {
      mkdirSync(flags.out, { recursive: true });
      for (const [name, text] of Object.entries(dedupFiles(outcome))) writeFileSync(join(flags.out, name), text);
    }
    if (flags.html) writeFileSync(flags.html, await dedupPage(outcome));
    if (!this.jsonEnabled()) {
      for (const g of outcome.groups) {
        this.log(`group ${g.group} (${g.kind}, ${g.members.length} files)`);
        for (const m of g.members) this.log(`  ${m.path === g.keep ? "keep" : "drop"}  ${m.score.toFixed(4)}  ${m.path}`);
      }
      this.log(
        `${outcome.groups.length} groups: ${outcome.duplicates} of ${outcome.rows} images are duplicates, ${outcome.toDrop} suggested to drop (threshold ${threshold}, keep ${flags.keep})${flags.out ? `; written to ${flags.out}` : ""}${flags.html ? `; page: ${flags.html}` : ""}`,
      );
    }
    return outcome;
  }
}
