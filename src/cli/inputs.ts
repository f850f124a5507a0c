/** What the commands that walk inputs take from their arguments and flags: inputs, --files-from, the shard. */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { NpyRowReader } from "../io/npy.js";
import { PathList } from "../sources/path-list.js";
import { resolveShard, shardLabel, type Shard } from "../sources/shard.js";
import { checkInputs } from "../sources/image-files.js";
import { UsageError } from "./errors.js";

/**
 * The shard this run takes (--shard, else the scheduler's environment). When the environment
 * chose it, `note` says so once, so a log shows which part of the inputs a task took.
 */
export function shardFromFlags(flag: string | undefined, note: (message: string) => void, env: NodeJS.ProcessEnv = process.env): Shard | undefined {
  const { shard, origin } = resolveShard(flag, env);
  if (shard && origin) note(`emb: taking shard ${shardLabel(shard)} of the inputs, from ${origin} (--shard i/n overrides it; --shard 0/1 takes all)`);
  return shard;
}

export interface ImageSourceFlags {
  shard?: string;
  "files-from"?: string;
}

/**
 * The positional inputs (checked to exist: a mistyped one is a usage error), the --files-from
 * list (opened; a missing list is a usage error, a missing file in it is reported in the run) and
 * the shard. Inputs or a list must be given.
 */
export async function imageSourcesFromFlags(
  inputs: string[],
  flags: ImageSourceFlags,
  note: (message: string) => void,
): Promise<{ inputs: string[]; list?: PathList; shard?: Shard }> {
  if (inputs.length === 0 && flags["files-from"] === undefined) {
    throw new UsageError("no inputs: give image files, folders or .tar shards as arguments, or a list of them with --files-from FILE (- for standard input)");
  }
  const shard = shardFromFlags(flags.shard, note);
  await checkInputs(inputs);
  const list = flags["files-from"] === undefined ? undefined : await PathList.open(flags["files-from"]);
  return { inputs, list, shard };
}

/**
 * Checks the embeddings.npy of each embedding folder read as input (emb merge, knn eval
 * --embeddings): one cut inside its header is refused with the fix, and so is one whose rows
 * stop short of what its header counts, unless `partial` says what taking its rows needs.
 */
export function checkEmbeddingFolders(dirs: string[], partial: { allowed: boolean; flag: string } | undefined): void {
  for (const dir of dirs) {
    const path = join(dir, "embeddings.npy");
    if (!existsSync(path)) continue; // the readers name a folder that is not an embedding folder
    const reader = NpyRowReader.open(path, "remove it and index.jsonl beside it, then run the emb embed command that made that folder again");
    try {
      if (partial?.allowed) continue;
      const leave = partial ? `, or pass ${partial.flag} to take the rows it holds` : "";
      const cut = reader.shortfall(path, `run the emb embed command that made ${dir} on it again to embed the missing rows${leave}`);
      if (cut) throw cut;
    } finally {
      reader.close();
    }
  }
}
