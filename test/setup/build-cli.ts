/**
 * vitest globalSetup: builds the CLI once per test run, with the same `tsc -p tsconfig.build.json`
 * as `npm run build`, into a fresh temporary folder laid out like the installed package
 * (package.json, bin/run.js, dist/, and the other entries of package.json's "files"; node_modules
 * linked; no oclif.manifest.json, which only makes `emb --help` start faster). The command tests
 * then run that folder's bin/run.js, the built `emb` users run, instead of compiling the
 * TypeScript sources in every child process.
 *
 * The build runs while the tests start: test/helpers/cli.ts waits for it before the first command
 * it runs, and the tests that run no command do not wait at all. A build that fails (a type error
 * included, as `npm run build` fails on it) fails every command test with tsc's output.
 *
 * The folder is new on every run and rebuilt before every watch-mode rerun, so no build older than
 * the sources is ever used; the repository's own dist/ is neither read nor written. The folder is
 * removed at the end, or by the next run when this one was killed.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";

/** What the build wrote to its status file once tsc ended. */
export interface BuildStatus {
  ok: boolean;
  /** tsc's output: the errors when the build failed. */
  output: string;
}

declare module "vitest" {
  export interface ProvidedContext {
    embCli: {
      /** The built bin/run.js. */
      bin: string;
      /** A BuildStatus as JSON, written once the build ended; absent while it runs. */
      status: string;
    };
  }
}

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const TSC = createRequire(import.meta.url).resolve("typescript/bin/tsc");
const PREFIX = "emb-test-cli-";

/** Removes the folders of earlier runs that were killed before their teardown (their process is gone). */
function removeOrphans(): void {
  for (const name of readdirSync(tmpdir())) {
    const pid = Number(new RegExp(`^${PREFIX}(\\d+)-`).exec(name)?.[1]);
    if (!pid || pid === process.pid) continue;
    try {
      process.kill(pid, 0);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ESRCH") rmSync(join(tmpdir(), name), { recursive: true, force: true });
    }
  }
}

/** package.json, bin/run.js, the shipped files (models/, data/, the gRPC .proto) that packageRoot() finds, and node_modules. */
function layOut(dir: string): void {
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { files?: string[] };
  copyFileSync(join(ROOT, "package.json"), join(dir, "package.json"));
  mkdirSync(join(dir, "bin"));
  copyFileSync(join(ROOT, "bin", "run.js"), join(dir, "bin", "run.js"));
  for (const entry of [...(pkg.files ?? []), "node_modules"]) {
    // oclif.manifest.json is written by `npm run build` and may be older than the sources: a stale
    // one would describe old flags. Without it oclif reads the commands themselves (slower start).
    if (entry === "bin" || entry === "dist" || entry === "oclif.manifest.json" || !existsSync(join(ROOT, entry))) continue;
    // An entry may be a file deep in the tree (src/serve/grpc/inference.proto).
    mkdirSync(dirname(join(dir, entry)), { recursive: true });
    symlinkSync(join(ROOT, entry), join(dir, entry));
  }
}

class Build {
  private child: ChildProcess | undefined;
  private ended: Promise<void> = Promise.resolve();

  constructor(
    private readonly dir: string,
    readonly status: string,
  ) {}

  /** Starts tsc into <dir>/dist; the status file appears when it ends. */
  start(): void {
    rmSync(this.status, { force: true });
    rmSync(join(this.dir, "dist"), { recursive: true, force: true });
    // As `npm run build`, less the .d.ts files, which nothing runs.
    const args = [TSC, "-p", join(ROOT, "tsconfig.build.json"), "--outDir", join(this.dir, "dist"), "--declaration", "false"];
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    this.ended = new Promise((resolve) => {
      const finish = (ok: boolean, text: string) => {
        this.child = undefined;
        const partial = `${this.status}.partial`;
        writeFileSync(partial, JSON.stringify({ ok, output: text } satisfies BuildStatus));
        renameSync(partial, this.status);
        resolve();
      };
      child.on("error", (error) => finish(false, String(error)));
      child.on("close", (code, signal) => {
        if (signal) {
          this.child = undefined;
          resolve(); // stopped by stop(): no status, a new build or the teardown follows
        } else finish(code === 0, output);
      });
    });
  }

  async stop(): Promise<void> {
    this.child?.kill();
    await this.ended;
  }
}

export default function setup(project: TestProject): () => Promise<void> {
  removeOrphans();
  const dir = mkdtempSync(join(tmpdir(), `${PREFIX}${process.pid}-`));
  try {
    layOut(dir);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const build = new Build(dir, join(dir, "build.json"));
  build.start();
  project.provide("embCli", { bin: join(dir, "bin", "run.js"), status: build.status });
  project.onTestsRerun(async () => {
    await build.stop();
    build.start();
  });
  return async () => {
    await build.stop();
    rmSync(dir, { recursive: true, force: true });
  };
}
