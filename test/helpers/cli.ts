/**
 * Runs the CLI as a user would, in a child process: the built bin/run.js that
 * test/setup/build-cli.ts (vitest's globalSetup) compiles from the current sources for this test
 * run. Use bin/dev.js by hand to run the sources without a build.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { inject } from "vitest";
import type { BuildStatus } from "../setup/build-cli.js";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

let built: string | undefined;

/** node's arguments that start the CLI, before the CLI's own; waits for the build the first time. */
export function cliArgs(): string[] {
  if (built) return [built];
  const cli = inject("embCli");
  if (!cli) throw new Error("no built CLI: run the tests through vitest with vitest.config.ts (its globalSetup builds it)");
  // runCli is synchronous, so wait without an event loop: a few 50 ms sleeps while tsc runs.
  const pause = new Int32Array(new SharedArrayBuffer(4));
  const giveUp = Date.now() + 600_000;
  while (!existsSync(cli.status)) {
    if (Date.now() > giveUp) throw new Error(`the CLI build has not ended after 10 minutes (no ${cli.status})`);
    Atomics.wait(pause, 0, 0, 50);
  }
  const status = JSON.parse(readFileSync(cli.status, "utf8")) as BuildStatus;
  if (!status.ok) throw new Error(`the CLI does not build (tsc -p tsconfig.build.json), so the tests cannot run it:\n${status.output}`);
  built = cli.bin;
  return [built];
}

function cliEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  // stderr is a pipe, which oclif wraps at 80 columns; the tests match whole sentences.
  const out: NodeJS.ProcessEnv = { ...process.env, HF_HUB_OFFLINE: "", OCLIF_COLUMNS: "10000", ...env };
  // vitest sets NODE_ENV=test, which users do not have; oclif treats "test" like "development".
  if (!("NODE_ENV" in env)) delete out.NODE_ENV;
  // Tests run inside a Slurm array or a Kubernetes Indexed Job would otherwise each take one shard.
  for (const name of ["SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX"]) if (!(name in env)) delete out[name];
  return out;
}

/** `options.cwd`: the working directory (default the repository root), for what flag defaults resolve against. */
export function runCli(args: string[], env: Record<string, string> = {}, options: { input?: string; cwd?: string } = {}): CliResult {
  const result = spawnSync(process.execPath, [...cliArgs(), ...args], {
    cwd: options.cwd ?? ROOT,
    env: cliEnv(env),
    encoding: "utf8",
    input: options.input,
    timeout: 120_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

export function runCliAsync(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...cliArgs(), ...args], { cwd: ROOT, env: cliEnv(env) });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

/** Starts the CLI and returns the child, for tests that interrupt it. */
export function startCli(args: string[], env: Record<string, string> = {}) {
  return spawn(process.execPath, [...cliArgs(), ...args], { cwd: ROOT, env: cliEnv(env) });
}
