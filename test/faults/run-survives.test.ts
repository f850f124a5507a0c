/**
 * Faults done to real runs of `emb embed image`: a second writer on the same folder, a stale lock
 * left by a dead run, SIGTERM as schedulers send it. After the final resume every image has its
 * row, equal to an uninterrupted run's, and run.json tells the truth.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readJsonl } from "../../src/io/jsonl.js";
import { parseNpy } from "../../src/io/npy.js";
import { runCli, startCli } from "../helpers/cli.js";
import { fixturePath, maxAbsDiff } from "../helpers/fixtures.js";
import { canMountTmpfs } from "../helpers/tmpfs.js";

const TINY = fixturePath("siglip-tiny");
const tmp = (name: string) => mkdtempSync(join(tmpdir(), `emb-fault-${name}-`));

function imageFolder(count: number): string {
  const dir = tmp("images");
  const sources = ["large_1280x720.jpg", "photo_500x375.jpg", "portrait_375x500.jpg", "cmyk_320x240.jpg"];
  for (let i = 0; i < count; i++) copyFileSync(fixturePath("images", sources[i % sources.length]), join(dir, `img_${String(i).padStart(4, "0")}.jpg`));
  return dir;
}

/** Rows by file name, and run.json. */
function outputs(dir: string): { byName: Map<string, Float32Array>; rows: number; run: { status: string } } {
  const npy = parseNpy(readFileSync(join(dir, "embeddings.npy")));
  const [n, d] = npy.shape;
  const data = npy.data as Float32Array;
  const byName = new Map<string, Float32Array>();
  for (const r of readJsonl<{ row: number; path: string }>(join(dir, "index.jsonl")))
    byName.set(r.path.split("/").pop()!, data.slice(r.row * d, (r.row + 1) * d));
  return { byName, rows: n, run: JSON.parse(readFileSync(join(dir, "run.json"), "utf8")) };
}

function expectSameAs(got: ReturnType<typeof outputs>, reference: ReturnType<typeof outputs>): void {
  expect(got.rows).toBe(reference.rows);
  expect([...got.byName.keys()].sort()).toEqual([...reference.byName.keys()].sort());
  for (const [name, row] of reference.byName) expect(maxAbsDiff(got.byName.get(name)!, row), name).toBeLessThanOrEqual(1e-6);
}

const args = (dir: string, out: string) => ["embed", "image", dir, "--model", TINY, "--out", out, "--batch-size", "4", "--workers", "1", "--no-progress"];

/** Resolves once `out` has more than `rows` index lines; fails if the run ends first. */
function whenRowsPass(child: ReturnType<typeof startCli>, out: string, rows: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const poll = setInterval(() => {
      const index = join(out, "index.jsonl");
      if (existsSync(index) && readFileSync(index, "utf8").split("\n").length > rows) {
        clearInterval(poll);
        resolve();
      }
    }, 5);
    child.on("exit", () => {
      clearInterval(poll);
      reject(new Error("the run ended before the fault; give it more images"));
    });
  });
}

describe("what a run survives", () => {
  const dir = imageFolder(120);
  const reference = join(tmp("out"), "reference");

  it("an uninterrupted run, for reference", () => {
    const run = runCli(args(dir, reference));
    expect(run.status, run.stderr).toBe(0);
    expect(outputs(reference).rows).toBe(120);
  });

  it("a second writer on the same --out is refused with the holder's pid and host; the first ends as an uninterrupted run", async () => {
    const out = join(tmp("out"), "shared");
    // The first run is stopped (SIGSTOP) while it holds the folder, however fast the machine, and
    // goes on (SIGCONT) once the second is refused. (A named pipe as input no longer holds a run:
    // it is reported, not read.)
    const first = startCli(args(dir, out));
    await whenRowsPass(first, out, 8);
    first.kill("SIGSTOP");
    const second = runCli(args(dir, out));
    first.kill("SIGCONT");
    expect(second.status, second.stderr).toBe(1);
    expect(second.stderr).toContain(`is being written by process ${first.pid} on ${hostname()}`);
    const code = await new Promise((resolve) => first.on("close", resolve));
    expect(code).toBe(0);
    const got = outputs(out);
    expect(got.run.status).toBe("complete");
    expectSameAs(got, outputs(reference));
    expect(existsSync(join(out, ".emb.lock"))).toBe(false);
  });

  it("a lock left by a run that died on this host is taken over", () => {
    const out = join(tmp("out"), "stale");
    const dead = spawnSync(process.execPath, ["-e", "0"]).pid!; // a pid whose process has ended
    runCli(["embed", "image", fixturePath("images", "small_64x48.jpg"), "--model", TINY, "--out", out]);
    writeFileSync(join(out, ".emb.lock"), JSON.stringify({ pid: dead, host: hostname(), started: "2026-01-01T00:00:00Z" }));
    const run = runCli(args(dir, out));
    expect(run.status, run.stderr).toBe(0);
    expect(outputs(out).rows).toBe(121);
    expect(existsSync(join(out, ".emb.lock"))).toBe(false);
  });

  it("an embeddings.npy whose body is shorter than its header says (a power cut) resumes to the uninterrupted result", () => {
    const out = join(tmp("out"), "torn");
    cpSync(reference, out, { recursive: true });
    const npy = join(out, "embeddings.npy");
    const rowBytes = outputs(reference).byName.values().next().value!.length * 4;
    truncateSync(npy, 128 + 50 * rowBytes + 17); // header still counts 120 rows; 50 and a piece reached the disk
    const resumed = runCli([...args(dir, out), "--json"]);
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ embedded: 70, unchanged: 50 });
    expectSameAs(outputs(out), outputs(reference));
  });

  it.skipIf(!canMountTmpfs())(
    "a full disk stops the run with one sentence; outputs load, and after freeing space the resume ends as an uninterrupted run",
    () => {
      const disk = tmp("disk");
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=24k", "tmpfs", disk]);
      try {
        const out = join(disk, "out");
        const full = runCli(args(dir, out));
        expect(full.status, full.stderr).toBe(1);
        expect(full.stderr).toContain(`the disk is full (ENOSPC) while writing ${out};`);
        expect(full.stderr).toContain("free space (or fix the disk) and run the same command again to continue");
        const partial = outputs(out);
        const ref = outputs(reference);
        expect(partial.byName.size).toBeGreaterThan(0);
        expect(partial.byName.size).toBeLessThan(120);
        for (const [name, row] of partial.byName) expect(maxAbsDiff(row, ref.byName.get(name)!), name).toBeLessThanOrEqual(1e-6);
        execFileSync("mount", ["-o", "remount,size=8m", disk]);
        const resumed = runCli(args(dir, out));
        expect(resumed.status, resumed.stderr).toBe(0);
        expectSameAs(outputs(out), ref);
      } finally {
        execFileSync("umount", [disk]);
      }
    },
  );

  it("SIGTERM (Slurm, Kubernetes, docker stop) stops like Ctrl-C: exit 130, run.json interrupted, the resume ends as an uninterrupted run", async () => {
    const out = join(tmp("out"), "term");
    const child = startCli(args(dir, out));
    await whenRowsPass(child, out, 8);
    child.kill("SIGTERM");
    const code = await new Promise((resolve) => child.on("close", resolve));
    expect(code).toBe(130);
    const stopped = outputs(out);
    expect(stopped.run.status).toBe("interrupted");
    expect(stopped.rows).toBeLessThan(120);
    const resumed = runCli(args(dir, out));
    expect(resumed.status, resumed.stderr).toBe(0);
    const got = outputs(out);
    expect(got.run.status).toBe("complete");
    expectSameAs(got, outputs(reference));
  });
});

describe("folders the walk cannot read", () => {
  it("are reported like unreadable files, and the images around them are embedded", () => {
    // A folder nested past the system's path length limit fails to open for any user, root
    // included (a permission-denied folder does not fail for root, which CI runs as).
    const dir = tmp("deep");
    copyFileSync(fixturePath("images", "photo_500x375.jpg"), join(dir, "a.jpg"));
    copyFileSync(fixturePath("images", "small_64x48.jpg"), join(dir, "z.jpg"));
    const home = process.cwd();
    process.chdir(dir);
    try {
      for (let depth = 0; depth < 22; depth++) {
        const name = `m${depth}`.padEnd(200, "x");
        mkdirSync(name);
        process.chdir(name);
      }
      copyFileSync(fixturePath("images", "photo_500x375.jpg"), "too_deep.jpg");
    } finally {
      process.chdir(home);
    }
    const out = join(tmp("out"), "deep");
    const run = runCli(["embed", "image", dir, "--model", TINY, "--out", out]);
    expect(run.status, run.stderr).toBe(3);
    const got = outputs(out);
    expect([...got.byName.keys()].sort()).toEqual(["a.jpg", "z.jpg"]);
    expect(got.run.status).toBe("complete");
    const [error] = readJsonl<{ path: string; reason: string; error: string }>(join(out, "errors.jsonl"));
    expect(error.reason).toBe("unreadable");
    expect(error.error).toContain("cannot read this folder (its path is longer than the system allows");
    expect(error.path.startsWith(join(dir, "m0"))).toBe(true);
    removeDeep(dir);
  });
});

/** rmSync cannot remove a tree past the path limit either: remove it level by level, by relative names. */
function removeDeep(dir: string): void {
  const home = process.cwd();
  process.chdir(dir);
  const names: string[] = [];
  try {
    for (let name = readdirSync(".").find((n) => n.startsWith("m")); name; name = readdirSync(".").find((n) => n.startsWith("m"))) {
      names.push(name);
      process.chdir(name);
    }
    for (const file of readdirSync(".")) rmSync(file);
    while (names.length > 0) {
      process.chdir("..");
      rmdirSync(names.pop()!);
    }
  } finally {
    process.chdir(home);
  }
  rmSync(dir, { recursive: true });
}

describe("output folders that cannot be made", () => {
  it("--out under /proc is a usage error naming the folder, at once (Node's recursive mkdir spins there forever)", () => {
    const run = runCli(["embed", "image", fixturePath("images", "small_64x48.jpg"), "--model", TINY, "--out", "/proc/emb-output"]);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("cannot create /proc/emb-output (this file system does not take new folders); choose a folder on a writable disk");
  });

  it("--cache-dir under /proc likewise", () => {
    const data = tmp("knn-cache");
    for (const split of ["train", "valid"]) {
      mkdirSync(join(data, split, "cat"), { recursive: true });
      copyFileSync(fixturePath("images", "small_64x48.jpg"), join(data, split, "cat", "a.jpg"));
    }
    const run = runCli(["knn", "eval", "--data", data, "--shots", "1", "--model", TINY, "--cache-dir", "/proc/emb-cache", "--out", join(tmp("out"), "knn")]);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("cannot create /proc/emb-cache/");
  });
});

describe("damaged outputs", () => {
  it("a damaged index.jsonl or run.json is named with where it breaks and the fix, not a bare SyntaxError", () => {
    const image = fixturePath("images", "small_64x48.jpg");
    const out = join(tmp("out"), "damaged");
    expect(runCli(["embed", "image", image, fixturePath("images", "gray_320x240.jpg"), "--model", TINY, "--out", out]).status).toBe(0);
    const index = join(out, "index.jsonl");
    const lines = readFileSync(index, "utf8").split("\n");
    writeFileSync(index, [`${lines[0].slice(0, 20)}#garbage`, ...lines.slice(1)].join("\n"));
    const broken = runCli(["embed", "image", image, "--model", TINY, "--out", out]);
    expect(broken.status).toBe(1);
    expect(broken.stderr).toContain(`${index} is damaged at line 1 (`);
    expect(broken.stderr).toContain("restore it, or remove its folder to start that output again");
    writeFileSync(join(out, "run.json"), '{"fingerprint": {"model": ');
    const run = runCli(["embed", "image", image, "--model", TINY, "--out", out]);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`${join(out, "run.json")} is not valid JSON (`);
  });
});

describe("input files that are folders", () => {
  it("--file, --labels-file, --labels and --annotations given a folder name the flag and the folder (exit 2)", () => {
    const folder = fixturePath("images");
    const out = () => join(tmp("out"), "x");
    const data = tmp("knn");
    for (const split of ["train", "valid"]) {
      mkdirSync(join(data, split, "cat"), { recursive: true });
      copyFileSync(fixturePath("images", "small_64x48.jpg"), join(data, split, "cat", "a.jpg"));
    }
    const cases: [string[], string][] = [
      [["embed", "text", "--file", folder, "--model", TINY, "--out", out()], `--file ${folder}: is a folder, not a file`],
      [["classify", fixturePath("images", "small_64x48.jpg"), "--labels-file", folder, "--model", TINY], `--labels-file ${folder}: is a folder, not a file`],
      [["knn", "eval", "--data", data, "--labels", folder, "--model", TINY, "--out", out()], `--labels ${folder}: is a folder, not a file`],
      [["coco", "eval", "--results", folder, "--annotations", folder, "--out", out()], `is a folder, not a file`],
    ];
    for (const [args, message] of cases) {
      const run = runCli(args);
      expect(run.status, `${args[0]} ${run.stderr}`).toBe(2);
      expect(run.stderr).toContain(message);
    }
  });
});

describe("file names that are not UTF-8", () => {
  it("are read by their bytes, recorded with \\xHH for the bytes that are not UTF-8, and resumed", () => {
    const dir = tmp("names");
    const latin1 = Buffer.concat([Buffer.from(join(dir, "caf")), Buffer.from([0xe9]), Buffer.from(".jpg")]); // "café" written by a Latin-1 system
    writeFileSync(latin1, readFileSync(fixturePath("images", "photo_500x375.jpg")));
    copyFileSync(fixturePath("images", "photo_500x375.jpg"), join(dir, "plain.jpg"));
    const out = join(tmp("out"), "names");
    const run = runCli([...args(dir, out), "--json"]);
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ embedded: 2, failed: 0 });
    const got = outputs(out);
    expect([...got.byName.keys()].sort()).toEqual(["caf\\xe9.jpg", "plain.jpg"]);
    expect(maxAbsDiff(got.byName.get("caf\\xe9.jpg")!, got.byName.get("plain.jpg")!)).toBe(0);
    expect(JSON.parse(runCli([...args(dir, out), "--json"]).stdout)).toMatchObject({ embedded: 0, unchanged: 2 });
  });
});
