/** Runs the CLI from source (bin/dev.js under tsx) as a user would, in a child process. */
import { spawn, spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const ARGS = ["--import", "tsx", join(ROOT, "bin", "dev.js")];

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], env: Record<string, string> = {}): CliResult {
  const result = spawnSync(process.execPath, [...ARGS, ...args], {
    cwd: ROOT,
    env: { ...process.env, HF_HUB_OFFLINE: "", ...env },
    encoding: "utf8",
    timeout: 120_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

export function runCliAsync(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...ARGS, ...args], { cwd: ROOT, env: { ...process.env, HF_HUB_OFFLINE: "", ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

/** Starts the CLI and returns the child, for tests that interrupt it. */
export function startCli(args: string[], env: Record<string, string> = {}) {
  return spawn(process.execPath, [...ARGS, ...args], { cwd: ROOT, env: { ...process.env, HF_HUB_OFFLINE: "", ...env } });
}
