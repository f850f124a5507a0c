/** What the commands that walk inputs take from their arguments and flags: inputs, --files-from, the shard. */
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
