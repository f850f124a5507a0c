/** Starts `emb serve` as a user would (the built CLI, free ports for HTTP and gRPC) and stops it. */
import type { ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { startCli } from "./cli.js";
import { fixturePath, readJson, readNpy } from "./fixtures.js";

export const SIGLIP = fixturePath("siglip-tiny");

/** The tiny SigLIP's PyTorch goldens, which served answers are checked against (HTTP and gRPC alike). */
export const golden = readJson("goldens", "siglip", "goldens.json");

export function goldenRow(array: string, index: number): Float32Array {
  const npy = readNpy("goldens", "siglip", array);
  const d = npy.shape[1];
  return (npy.data as Float32Array).slice(index * d, (index + 1) * d);
}
export const imageIndex = (file: string) => golden.images.findIndex((i: { file: string }) => i.file === file);
export const image = (file: string) => readFileSync(fixturePath("images", file));
export const captionIds = (i: number) => golden.captions[i].input_ids as number[];

export interface RunningServer {
  url: string;
  /** The gRPC host:port; undefined with --no-grpc. */
  grpc?: string;
  /** The separate metrics port's /metrics URL; undefined with --no-metrics-port. */
  metrics?: string;
  child: ChildProcess;
  /** Everything the server wrote to stderr so far. */
  stderr(): string;
  /** SIGTERM, then its exit code. */
  stop(): Promise<number | null>;
}

export function startServe(args: string[], env: Record<string, string> = {}): Promise<RunningServer> {
  // A separate metrics port unless the test turns it off: a free one, as the others.
  const metricsPort = args.includes("--no-metrics-port") ? [] : ["--metrics-port", "0"];
  const child = startCli(["serve", "--port", "0", "--grpc-port", "0", ...metricsPort, "--no-progress", ...args], env);
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
          // Printed before the HTTP line.
          grpc: /gRPC on (\S+)/.exec(stderr)?.[1],
          metrics: /metrics on (http:\/\/\S+)/.exec(stderr)?.[1],
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
