/** Starts `emb serve` as a user would (the built CLI, a free port) and stops it. */
import type { ChildProcess } from "node:child_process";
import { startCli } from "./cli.js";

export interface RunningServer {
  url: string;
  child: ChildProcess;
  /** Everything the server wrote to stderr so far. */
  stderr(): string;
  /** SIGTERM, then its exit code. */
  stop(): Promise<number | null>;
}

export function startServe(args: string[], env: Record<string, string> = {}): Promise<RunningServer> {
  const child = startCli(["serve", "--port", "0", "--no-progress", ...args], env);
  let stderr = "";
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`emb serve did not start in 60 s:\n${stderr}`)), 60_000);
    child.stderr!.on("data", (d) => {
      stderr += d;
      const url = /listening on (http:\/\/\S+)/.exec(stderr)?.[1];
      if (url) {
        clearTimeout(timer);
        resolve({
          url,
          child,
          stderr: () => stderr,
          stop: async () => {
            child.kill("SIGTERM");
            return exited;
          },
        });
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`emb serve exited (${code}) before listening:\n${stderr}`));
    });
  });
}
