/**
 * vitest globalSetup: builds the CLI once per test run, with the same `tsc -p tsconfig.build.json`
 * as `npm run build`, into a fresh temporary folder laid out like the installed package
 * (package.json, bin/run.js, dist/, and the other entries of package.json's "files"; node_modules
 * linked). The command tests then run that folder's bin/run.js, the built `emb` users run, instead
 * of compiling the TypeScript sources in every child process.
 *
 * The folder is new on every run and rebuilt before every watch-mode rerun, so no build older than
 * the sources is ever used; the repository's own dist/ is neither read nor written. A build that
 * fails (a type error included, as `npm run build` fails on it) fails the test run. The folder is
 * removed at the end, or by the next run when this one was killed.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    /** The built bin/run.js that test/helpers/cli.ts runs. */
    embCli: string;
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

function build(dir: string): void {
  const out = join(dir, "dist");
  rmSync(out, { recursive: true, force: true });
  // As `npm run build`, less the .d.ts files, which nothing runs.
  const args = [TSC, "-p", join(ROOT, "tsconfig.build.json"), "--outDir", out, "--declaration", "false"];
  const result = spawnSync(process.execPath, args, { cwd: ROOT, encoding: "utf8" });
  if (result.status !== 0) {
    throw new Error(`the CLI does not build (tsc -p tsconfig.build.json), so the tests cannot run it:\n${result.stdout}${result.stderr}`);
  }
}

export default function setup(project: TestProject): () => void {
  removeOrphans();
  const dir = mkdtempSync(join(tmpdir(), `${PREFIX}${process.pid}-`));
  try {
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { files?: string[] };
    copyFileSync(join(ROOT, "package.json"), join(dir, "package.json"));
    mkdirSync(join(dir, "bin"));
    copyFileSync(join(ROOT, "bin", "run.js"), join(dir, "bin", "run.js"));
    // Data the package ships (models/, data/), read through packageRoot(); and the dependencies.
    for (const entry of [...(pkg.files ?? []), "node_modules"]) {
      if (entry === "bin" || entry === "dist" || !existsSync(join(ROOT, entry))) continue;
      symlinkSync(join(ROOT, entry), join(dir, entry));
    }
    build(dir);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  project.provide("embCli", join(dir, "bin", "run.js"));
  project.onTestsRerun(() => build(dir));
  return () => rmSync(dir, { recursive: true, force: true });
}
