/**
 * Shards: `--shard i/n` takes the inputs whose key hashes to i modulo n, so n processes (a Slurm
 * array, a Kubernetes Indexed Job) split one input set between them with no coordination.
 *
 * The partition depends only on each input's key, never on its position in the walk: adding files
 * in one folder moves no other file to another shard, and every shard of the same command line
 * agrees on who owns what. Every input belongs to exactly one shard.
 */
import { createHash } from "node:crypto";

export interface Shard {
  /** 0-based. */
  index: number;
  count: number;
}

export class ShardSpecError extends Error {}

const FORM = "give it as i/n with 0 <= i < n, e.g. --shard 2/4 for the third of four shards";

/** `i/n` as a shard; anything else is an error naming the value and the valid form. */
export function parseShard(text: string, origin = "--shard"): Shard {
  const match = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!match) throw new ShardSpecError(`${origin} ${JSON.stringify(text)} is not a shard: ${FORM}`);
  return checkShard(Number(match[1]), Number(match[2]), `${origin} ${text}`);
}

function checkShard(index: number, count: number, shown: string): Shard {
  if (!Number.isSafeInteger(count) || count < 1) throw new ShardSpecError(`${shown}: the shard count must be at least 1; ${FORM}`);
  if (!Number.isSafeInteger(index) || index >= count) {
    throw new ShardSpecError(`${shown}: shard ${index} does not exist among ${count} (they are 0 to ${count - 1}); ${FORM}`);
  }
  return { index, count };
}

/** A shard and the sentence that says where it came from, when the environment gave it. */
export interface ShardFromEnv {
  shard: Shard;
  origin: string;
}

function integerVariable(env: NodeJS.ProcessEnv, name: string, fix: string): number {
  const raw = env[name]?.trim() ?? "";
  if (!/^\d+$/.test(raw)) throw new ShardSpecError(`${name}=${JSON.stringify(env[name] ?? "")} is not a whole number; ${fix}`);
  return Number(raw);
}

/**
 * The shard a scheduler gives through the environment, or undefined:
 * - Slurm job arrays: SLURM_ARRAY_TASK_ID among SLURM_ARRAY_TASK_COUNT tasks, counted from
 *   SLURM_ARRAY_TASK_MIN (an array 1-8 is shards 0-7) in steps of SLURM_ARRAY_TASK_STEP (0-14:2).
 * - Kubernetes Indexed Jobs: JOB_COMPLETION_INDEX, with the count from EMB_SHARD_COUNT, since
 *   Kubernetes does not export the Job's completions to its pods.
 */
export function shardFromEnv(env: NodeJS.ProcessEnv = process.env): ShardFromEnv | undefined {
  if (env.SLURM_ARRAY_TASK_ID !== undefined && env.SLURM_ARRAY_TASK_ID !== "") {
    const fix = "run inside a Slurm job array (sbatch --array), or pass --shard i/n";
    const id = integerVariable(env, "SLURM_ARRAY_TASK_ID", fix);
    if (env.SLURM_ARRAY_TASK_COUNT === undefined || env.SLURM_ARRAY_TASK_COUNT === "") {
      throw new ShardSpecError(`SLURM_ARRAY_TASK_ID=${id} is set but SLURM_ARRAY_TASK_COUNT is not; ${fix}`);
    }
    const count = integerVariable(env, "SLURM_ARRAY_TASK_COUNT", fix);
    const min = env.SLURM_ARRAY_TASK_MIN ? integerVariable(env, "SLURM_ARRAY_TASK_MIN", fix) : 0;
    const step = env.SLURM_ARRAY_TASK_STEP ? integerVariable(env, "SLURM_ARRAY_TASK_STEP", fix) : 1;
    const offset = id - min;
    const described = [
      `SLURM_ARRAY_TASK_ID=${id}`,
      env.SLURM_ARRAY_TASK_MIN ? `SLURM_ARRAY_TASK_MIN=${min}` : "",
      env.SLURM_ARRAY_TASK_STEP ? `SLURM_ARRAY_TASK_STEP=${step}` : "",
      `SLURM_ARRAY_TASK_COUNT=${count}`,
    ]
      .filter(Boolean)
      .join(", ");
    if (offset < 0 || step < 1 || offset % step !== 0) {
      throw new ShardSpecError(`${described} do not make a shard (arrays like 0-15 or 1-16:1 do); pass --shard i/n`);
    }
    return { shard: checkShard(offset / step, count, described), origin: described };
  }
  if (env.JOB_COMPLETION_INDEX !== undefined && env.JOB_COMPLETION_INDEX !== "") {
    const fix = "set EMB_SHARD_COUNT to the Job's completions (Kubernetes does not export it to pods), or pass --shard i/n";
    const index = integerVariable(env, "JOB_COMPLETION_INDEX", fix);
    if (env.EMB_SHARD_COUNT === undefined || env.EMB_SHARD_COUNT === "") {
      throw new ShardSpecError(`JOB_COMPLETION_INDEX=${index} is set but EMB_SHARD_COUNT is not; ${fix}`);
    }
    const count = integerVariable(env, "EMB_SHARD_COUNT", fix);
    const described = `JOB_COMPLETION_INDEX=${index}, EMB_SHARD_COUNT=${count}`;
    return { shard: checkShard(index, count, described), origin: described };
  }
  return undefined;
}

/**
 * The shard a run takes: --shard when given (it always wins), else the environment's, else none.
 * One shard of one (0/1) is all the inputs, which is no shard: its folder is an unsharded run's.
 */
export function resolveShard(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): { shard?: Shard; origin?: string } {
  const found = flag !== undefined ? { shard: parseShard(flag) } : shardFromEnv(env);
  return found && found.shard.count > 1 ? found : {};
}

/** Which of `count` shards owns `key`: the first 6 bytes of its SHA-256, big-endian, modulo count. */
export function shardOf(key: string, count: number): number {
  return createHash("sha256").update(key, "utf8").digest().readUIntBE(0, 6) % count;
}

/** Whether `key` is this shard's; everything is when there is no shard. */
export function inShard(key: string, shard: Shard | undefined): boolean {
  return shard === undefined || shardOf(key, shard.count) === shard.index;
}

/**
 * The key a file found under an input argument is sharded by: the argument as given and the
 * path below it (empty for a file given directly), so the key does not depend on other files.
 */
export const fileShardKey = (argument: string, relative: string) => `${argument}\u0000${relative}`;

/** How run.json and error messages show a shard. */
export const shardLabel = (shard: Shard | null | undefined) => (shard ? `${shard.index}/${shard.count}` : "none (all inputs)");
