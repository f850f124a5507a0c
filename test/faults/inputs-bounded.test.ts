/**
 * Inputs that could hang a real `emb embed image` run or exhaust its memory: broken and looping
 * links, named pipes (which block a plain open until someone writes), /dev/zero (endless), files
 * over --max-file-size, and a PNG whose zTXt chunk unpacks to 400 MB. Each is reported in
 * errors.jsonl with its reason, the run ends (exit 3, some inputs failed) and every good image
 * has the row a clean run gives it.
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readJsonl } from "../../src/io/jsonl.js";
import { parseNpy } from "../../src/io/npy.js";
import { startCli } from "../helpers/cli.js";
import { fixturePath, maxAbsDiff } from "../helpers/fixtures.js";
import { rgbPng, zeroBomb, zTXt } from "../image/png-build.js";

const TINY = fixturePath("siglip-tiny");
const tmp = (name: string) => mkdtempSync(join(tmpdir(), `emb-inputs-${name}-`));
const args = (inputs: string[], out: string) => ["embed", "image", ...inputs, "--model", TINY, "--out", out, "--workers", "2", "--no-progress"];

interface Ended {
  status: number | null;
  stderr: string;
  /** The run had not ended after the time given: it was killed. */
  hung: boolean;
}

/** Runs the CLI and kills it (SIGKILL: a hung run may ignore SIGTERM) if it has not ended within `ms`. */
function runWithin(cliArgs: string[], ms: number): Promise<Ended> {
  const child = startCli(cliArgs);
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  let hung = false;
  const timer = setTimeout(() => {
    hung = true;
    child.kill("SIGKILL");
  }, ms);
  return new Promise((resolve) =>
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stderr, hung });
    }),
  );
}

/** Rows by file name. */
function rows(out: string): Map<string, Float32Array> {
  const npy = parseNpy(readFileSync(join(out, "embeddings.npy")));
  const d = npy.shape[1];
  const data = npy.data as Float32Array;
  const byName = new Map<string, Float32Array>();
  for (const r of readJsonl<{ row: number; path: string }>(join(out, "index.jsonl")))
    byName.set(r.path.split("/").pop()!, data.slice(r.row * d, (r.row + 1) * d));
  return byName;
}

function errors(out: string): Map<string, { reason: string; error: string }> {
  const file = join(out, "errors.jsonl");
  const records = existsSync(file) ? readJsonl<{ path: string; reason: string; error: string }>(file) : [];
  return new Map(records.map((r) => [r.path.split("/").pop()!, r]));
}

/** A folder of good images: three fixtures and a PNG that carries a small zTXt chunk (or not). */
function goodImages(dir: string, comment: boolean): void {
  for (const name of ["photo_500x375.jpg", "small_64x48.jpg", "gray_256x256.png"]) copyFileSync(fixturePath("images", name), join(dir, name));
  writeFileSync(join(dir, "commented.png"), rgbPng(40, 30, comment ? { before: [zTXt("Comment", "drawn by hand for a test")] } : {}));
}

describe.skipIf(process.platform !== "linux")("inputs that could hang or exhaust a run", () => {
  const clean = join(tmp("out"), "clean");

  it("a clean run, for reference", async () => {
    const dir = tmp("clean");
    goodImages(dir, false);
    const run = await runWithin(args([dir], clean), 120_000);
    expect(run.status, run.stderr).toBe(0);
    expect(rows(clean).size).toBe(4);
  });

  it("broken and looping links, a pipe, a link to a pipe, a link to /dev/zero and a zTXt bomb among good images: each reported, the rest embedded as a clean run", async () => {
    const dir = tmp("bad");
    goodImages(dir, true);
    symlinkSync(join(dir, "missing.jpg"), join(dir, "broken.jpg"));
    symlinkSync("loop.jpg", join(dir, "loop.jpg"));
    execFileSync("mkfifo", [join(dir, "pipe.jpg")]);
    execFileSync("mkfifo", [join(dir, "pipe")]);
    symlinkSync(join(dir, "pipe"), join(dir, "pipe-link.jpg"));
    symlinkSync("/dev/zero", join(dir, "zero.jpg"));
    // 400 MiB of zeros in a few hundred KB, under the keyword the orientation lookup unpacks
    writeFileSync(join(dir, "bomb.png"), rgbPng(40, 30, { before: [zTXt("Raw profile type exif", "", { packed: zeroBomb(400 * 2 ** 20) })] }));
    const out = join(tmp("out"), "bad");
    const run = await runWithin(args([dir], out), 60_000);
    expect(run.hung, "the run hung").toBe(false);
    expect(run.status, run.stderr).toBe(3);
    const failed = errors(out);
    expect(Object.fromEntries([...failed].map(([name, e]) => [name, e.reason]))).toEqual({
      "bomb.png": "too-large",
      "broken.jpg": "broken-link",
      "loop.jpg": "broken-link",
      "pipe-link.jpg": "not-a-file",
      "pipe.jpg": "not-a-file",
      "zero.jpg": "not-a-file",
    });
    expect(failed.get("broken.jpg")!.error).toContain(`it points to ${join(dir, "missing.jpg")}, which does not exist`);
    expect(failed.get("loop.jpg")!.error).toContain("loops back on itself (ELOOP)");
    expect(failed.get("zero.jpg")!.error).toContain("a symbolic link to /dev/zero, which is a character device, not a regular file");
    expect(failed.get("bomb.png")!.error).toContain('its zTXt text chunk "Raw profile type exif" unpacks to more than 1 MiB');
    const got = rows(out);
    const reference = rows(clean);
    expect([...got.keys()].sort()).toEqual([...reference.keys()].sort());
    for (const [name, row] of reference) expect(maxAbsDiff(got.get(name)!, row), name).toBeLessThanOrEqual(1e-6);
    // A resume meets them again, and again does not hang.
    const resumed = await runWithin(args([dir], out), 60_000);
    expect(resumed.hung, "the resume hung").toBe(false);
    expect(resumed.status, resumed.stderr).toBe(3);
  });

  it("a pipe given as an argument, or listed in --files-from, is reported and the run ends", async () => {
    const dir = tmp("pipe-args");
    copyFileSync(fixturePath("images", "small_64x48.jpg"), join(dir, "good.jpg"));
    const pipe = join(dir, "pipe.jpg");
    execFileSync("mkfifo", [pipe]);
    const list = join(dir, "list.txt");
    writeFileSync(list, `${pipe}\n${join(dir, "broken.jpg")}\n`);
    symlinkSync(join(dir, "gone.jpg"), join(dir, "broken.jpg"));
    for (const inputs of [
      [join(dir, "good.jpg"), pipe],
      [join(dir, "good.jpg"), "--files-from", list],
    ]) {
      const out = join(tmp("out"), "pipe-args");
      const run = await runWithin(args(inputs, out), 60_000);
      expect(run.hung, `${inputs.join(" ")}: the run hung`).toBe(false);
      expect(run.status, run.stderr).toBe(3);
      expect(errors(out).get("pipe.jpg")).toEqual({
        path: pipe,
        reason: "not-a-file",
        error: "this is a named pipe (FIFO), not a regular file: only regular files are read",
        time: expect.any(String),
      });
      if (inputs.includes(list)) expect(errors(out).get("broken.jpg")?.reason).toBe("broken-link");
      expect([...rows(out).keys()]).toEqual(["good.jpg"]);
    }
  });

  it.each(["SIGTERM", "SIGINT"] as const)("%s twice ends a run with a pipe among its inputs within seconds", async (signal) => {
    const dir = tmp("signal");
    goodImages(dir, false);
    // Given as an argument after the folder: read last, once the good images are in.
    const pipe = join(tmp("pipe"), "pipe.jpg");
    execFileSync("mkfifo", [pipe]);
    const out = join(tmp("out"), "signal");
    const child = startCli(args([dir, pipe], out));
    const ended = new Promise<{ status: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on("close", (status, signal) => resolve({ status, signal })),
    );
    const index = join(out, "index.jsonl");
    const goodDone = () => existsSync(index) && readFileSync(index, "utf8").trim().split("\n").length >= 4;
    let poll: NodeJS.Timeout | undefined;
    await Promise.race([ended, new Promise<void>((resolve) => (poll = setInterval(() => goodDone() && resolve(), 20)))]);
    clearInterval(poll);
    child.kill(signal);
    await new Promise((resolve) => setTimeout(resolve, 200));
    child.kill(signal);
    let hung = false;
    const timer = setTimeout(() => {
      hung = true;
      child.kill("SIGKILL");
    }, 5_000);
    const { status, signal: killedBy } = await ended;
    clearTimeout(timer);
    expect(hung, "still running 5 s after the second signal").toBe(false);
    // Finished before the signals (3: the pipe failed), interrupted (130), or ended by the signal after the run let go of it.
    if (killedBy === null) expect([3, 130]).toContain(status);
    else expect(killedBy).toBe(signal);
  });

  it("a file over --max-file-size is reported with its size, the limit and the flag; raising the limit embeds it", async () => {
    const dir = tmp("size");
    copyFileSync(fixturePath("images", "small_64x48.jpg"), join(dir, "small.jpg"));
    // A JPEG with 1.2 MB after its end: it decodes as the image it is.
    writeFileSync(join(dir, "padded.jpg"), Buffer.concat([readFileSync(fixturePath("images", "photo_500x375.jpg")), Buffer.alloc(1_200_000)]));
    const out = join(tmp("out"), "size");
    const run = await runWithin([...args([dir], out), "--max-file-size", "1"], 60_000);
    expect(run.status, run.stderr).toBe(3);
    const size = readFileSync(join(dir, "padded.jpg")).length;
    expect(errors(out).get("padded.jpg")).toMatchObject({
      reason: "too-large",
      error: `this file is ${(size / 1e6).toFixed(1)} MB (${size} bytes), over the limit of 1 MB (raise it with --max-file-size)`,
    });
    expect([...rows(out).keys()]).toEqual(["small.jpg"]);
    const raised = await runWithin([...args([dir], out), "--max-file-size", "2"], 60_000);
    expect(raised.status, raised.stderr).toBe(0);
    expect([...rows(out).keys()].sort()).toEqual(["padded.jpg", "small.jpg"]);
  });
});
