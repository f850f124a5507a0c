/**
 * The "Many machines" recipes of docs/operations.md, run as written: the Slurm array task's and the
 * Kubernetes Indexed Job pod's `emb embed image` command lines, taken from that page, run as
 * four separate processes at once with the scheduler's variables set, then its
 * `emb merge` line; the merged folder must equal a one-process run over the same photos.
 */
import { spawn } from "node:child_process";
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { readJsonl } from "../../src/io/jsonl.js";
import { parseNpy } from "../../src/io/npy.js";
import { cliArgs, ROOT, runCli } from "../helpers/cli.js";
import { fixturePath, maxAbsDiff } from "../helpers/fixtures.js";

const SHARDS = 4;
const PAGE = readFileSync(join(ROOT, "docs", "operations.md"), "utf8");
const section = PAGE.slice(PAGE.indexOf("## Many machines"));

/** The first line of the section that matches `pattern` (indentation trimmed). */
function recipeLine(pattern: RegExp): string {
  const line = section.split("\n").find((l) => pattern.test(l));
  if (!line) throw new Error(`docs/operations.md's "Many machines" section has no line matching ${pattern}`);
  return line.trim();
}

const slurmTask = recipeLine(/^emb embed image .*SLURM_ARRAY_TASK_ID/);
const slurmMerge = recipeLine(/emb merge /).replace(/^.*--wrap "(.*)"$/, "$1");
const podCommand = recipeLine(/command: \["sh", "-c", "emb embed image/).replace(/^.*"-c", "(.*)"\]$/, "$1");

/** A folder standing in for the shared file system: /data/photos holds the fixture images. */
function sharedDisk(): { root: string; bin: string } {
  const root = mkdtempSync(join(tmpdir(), "emb-many-"));
  cpSync(fixturePath("images"), join(root, "photos"), { recursive: true, filter: (src) => !src.endsWith("manifest.json") });
  // `emb` on PATH, as an installed package puts it there.
  const bin = join(root, "bin");
  mkdirSync(bin);
  // The recipes embed with the default model; here it is the tiny fixture.
  const model = `if [ "$1" = embed ]; then set -- "$@" --model "${fixturePath("siglip-tiny")}"; fi`;
  writeFileSync(
    join(bin, "emb"),
    `#!/bin/sh\n${model}\nexec "${process.execPath}" ${cliArgs()
      .map((a) => `"${a}"`)
      .join(" ")} "$@"\n`,
  );
  chmodSync(join(bin, "emb"), 0o755);
  return { root, bin };
}

/** Runs a recipe's shell line with /data pointing at `root`, the scheduler's variables in `env`. */
function sh(line: string, disk: { root: string; bin: string }, env: Record<string, string>): Promise<{ status: number | null; stderr: string }> {
  const command = line.replaceAll("/data/", `${disk.root}/`);
  return new Promise((resolve) => {
    const child = spawn("sh", ["-c", command], {
      cwd: ROOT,
      env: { ...process.env, NODE_ENV: "", PATH: `${disk.bin}${delimiter}${process.env.PATH}`, ...env },
    });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (status) => resolve({ status, stderr }));
  });
}

function rows(dir: string) {
  const index = readJsonl<{ row: number; path: string; sha256: string }>(join(dir, "index.jsonl"));
  const npy = parseNpy(readFileSync(join(dir, "embeddings.npy")));
  const dim = npy.shape[1];
  return index.map((r) => ({ file: r.path.split("/").pop(), sha256: r.sha256, vector: (npy.data as Float32Array).subarray(r.row * dim, (r.row + 1) * dim) }));
}

describe("docs/operations.md's Slurm and Kubernetes recipes", () => {
  let whole: ReturnType<typeof rows>;
  beforeAll(() => {
    const disk = sharedDisk();
    const run = runCli([
      "embed",
      "image",
      join(disk.root, "photos"),
      "--model",
      fixturePath("siglip-tiny"),
      "--out",
      join(disk.root, "whole"),
      "--no-progress",
    ]);
    expect([0, 3], run.stderr).toContain(run.status);
    whole = rows(join(disk.root, "whole"));
  });

  const expectEqualToWhole = (merged: ReturnType<typeof rows>) => {
    expect(merged.map((r) => r.file)).toEqual(whole.map((r) => r.file));
    expect(merged.map((r) => r.sha256)).toEqual(whole.map((r) => r.sha256));
    // Shards batch differently from the one-process run: the same image, other batch neighbours.
    merged.forEach((r, i) => expect(maxAbsDiff(r.vector, whole[i].vector), r.file).toBeLessThan(1e-5));
  };

  it("a Slurm array of 4 tasks at once, then the merge, equals one process", async () => {
    const disk = sharedDisk();
    const tasks = await Promise.all(
      Array.from({ length: SHARDS }, (_, id) =>
        sh(slurmTask, disk, { SLURM_ARRAY_TASK_ID: String(id), SLURM_ARRAY_TASK_COUNT: String(SHARDS), SLURM_ARRAY_TASK_MIN: "0" }),
      ),
    );
    // Exit 3: some fixture images are unreadable on purpose; the task is still complete.
    tasks.forEach((t) => expect([0, 3], t.stderr).toContain(t.status));
    tasks.forEach((t, id) => expect(t.stderr).toContain(`taking shard ${id}/${SHARDS} of the inputs, from SLURM_ARRAY_TASK_ID=${id}`));
    const merge = await sh(slurmMerge, disk, {});
    expect(merge.status, merge.stderr).toBe(0);
    expectEqualToWhole(rows(join(disk.root, "emb", "all")));
  }, 240_000);

  it("a Kubernetes Indexed Job of 4 pods at once, then the merge, equals one process", async () => {
    const disk = sharedDisk();
    const pods = await Promise.all(
      Array.from({ length: SHARDS }, (_, index) => sh(podCommand, disk, { JOB_COMPLETION_INDEX: String(index), EMB_SHARD_COUNT: String(SHARDS) })),
    );
    pods.forEach((p) => expect([0, 3], p.stderr).toContain(p.status));
    const merge = await sh(slurmMerge, disk, {});
    expect(merge.status, merge.stderr).toBe(0);
    expectEqualToWhole(rows(join(disk.root, "emb", "all")));
  }, 240_000);
});
