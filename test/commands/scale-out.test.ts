/**
 * The input side of scaling out, through the CLI: shards (--shard and the schedulers'
 * environment), --files-from lists and webdataset .tar shards, on the tiny SigLIP fixture.
 * Runs use --batch-size 1, so every image is computed alone and vectors compare exactly.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { readJsonl } from "../../src/io/jsonl.js";
import { parseNpy } from "../../src/io/npy.js";
import { ROOT, runCli } from "../helpers/cli.js";
import { fixturePath } from "../helpers/fixtures.js";
import { writeTar, type Member } from "../helpers/tar.js";

const TINY = fixturePath("siglip-tiny");
const IMAGES = fixturePath("images");
const tmp = (name: string) => mkdtempSync(join(tmpdir(), `emb-${name}-`));
const embed = (...args: string[]) => ["embed", "image", ...args, "--model", TINY, "--batch-size", "1", "--no-progress"];

/** path -> vector of an output folder, and its records, errors and run.json. */
function readOutput(dir: string) {
  const npy = parseNpy(readFileSync(join(dir, "embeddings.npy")));
  const d = npy.shape[1];
  const data = npy.data as Float32Array;
  const records = readJsonl<{ row: number; path: string; bytes: number; sha256: string }>(join(dir, "index.jsonl"));
  const vectors = new Map(records.map((r) => [r.path, Array.from(data.slice(r.row * d, (r.row + 1) * d))]));
  const errors = readJsonl<{ path: string; reason: string; error: string }>(join(dir, "errors.jsonl"));
  return { records, vectors, errors, run: JSON.parse(readFileSync(join(dir, "run.json"), "utf8")) };
}

describe("--shard", () => {
  it("two shards' rows together equal a one-process run's: same paths, same vectors, none twice", () => {
    const root = tmp("shards");
    const whole = join(root, "whole");
    expect(runCli(embed(IMAGES, "--out", whole)).status).toBe(0);
    const all = readOutput(whole);
    expect(all.records).toHaveLength(15);

    const parts = [0, 1].map((i) => {
      const out = join(root, `shard-${i}`);
      const result = runCli(embed(IMAGES, "--out", out, "--shard", `${i}/2`, "--json"));
      expect(result.status, result.stderr).toBe(0);
      // Progress totals and counts are the shard's own.
      const summary = JSON.parse(result.stdout);
      const output = readOutput(out);
      expect(summary).toMatchObject({ total: output.records.length, embedded: output.records.length });
      expect(output.run.shard).toEqual({ index: i, count: 2 });
      return output;
    });
    const paths = parts.flatMap((p) => p.records.map((r) => r.path));
    expect(parts[0].records.length).toBeGreaterThan(0);
    expect(parts[1].records.length).toBeGreaterThan(0);
    expect([...paths].sort()).toEqual(all.records.map((r) => r.path).sort());
    for (const part of parts) for (const [path, vector] of part.vectors) expect(vector, path).toEqual(all.vectors.get(path));
    expect(all.run.shard).toBeNull();

    // The same shard resumes; another shard, or no shard, is refused naming both.
    const again = runCli(embed(IMAGES, "--out", join(root, "shard-0"), "--shard", "0/2", "--json"));
    expect(JSON.parse(again.stdout)).toMatchObject({ embedded: 0, unchanged: parts[0].records.length });
    const other = runCli(embed(IMAGES, "--out", join(root, "shard-0"), "--shard", "1/2"));
    expect(other.status).toBe(2);
    expect(other.stderr).toContain(`${join(root, "shard-0")} holds embeddings of shard 0/2, not of shard 1/2; give each shard its own --out`);
    const unsharded = runCli(embed(IMAGES, "--out", join(root, "shard-0")));
    expect(unsharded.stderr).toContain("holds embeddings of shard 0/2, not of shard none (all inputs)");
    const intoWhole = runCli(embed(IMAGES, "--out", whole, "--shard", "1/2"));
    expect(intoWhole.stderr).toContain("holds embeddings of shard none (all inputs), not of shard 1/2");
    expect(intoWhole.stderr).toContain("or resume this folder with --shard 0/1 (all inputs)");
    expect(runCli(embed(IMAGES, "--out", whole, "--shard", "0/1")).status).toBe(0);
  });

  it("takes the shard from a Slurm array or a Kubernetes Indexed Job, says so once, and the flag wins", () => {
    const root = tmp("env");
    const slurm = { SLURM_ARRAY_TASK_ID: "2", SLURM_ARRAY_TASK_MIN: "1", SLURM_ARRAY_TASK_COUNT: "2" };
    const fromSlurm = runCli(embed(IMAGES, "--out", join(root, "slurm")), slurm);
    expect(fromSlurm.status, fromSlurm.stderr).toBe(0);
    expect(fromSlurm.stderr.match(/taking shard/g)).toHaveLength(1);
    expect(fromSlurm.stderr).toContain("emb: taking shard 1/2 of the inputs, from SLURM_ARRAY_TASK_ID=2, SLURM_ARRAY_TASK_MIN=1, SLURM_ARRAY_TASK_COUNT=2");
    expect(readOutput(join(root, "slurm")).run.shard).toEqual({ index: 1, count: 2 });

    const fromK8s = runCli(embed(IMAGES, "--out", join(root, "k8s")), { JOB_COMPLETION_INDEX: "1", EMB_SHARD_COUNT: "2" });
    expect(fromK8s.stderr).toContain("taking shard 1/2 of the inputs, from JOB_COMPLETION_INDEX=1, EMB_SHARD_COUNT=2");
    expect([...readOutput(join(root, "k8s")).vectors.keys()]).toEqual([...readOutput(join(root, "slurm")).vectors.keys()]);

    const flagWins = runCli(embed(IMAGES, "--out", join(root, "flag"), "--shard", "0/2"), slurm);
    expect(flagWins.stderr).not.toContain("taking shard");
    expect(readOutput(join(root, "flag")).run.shard).toEqual({ index: 0, count: 2 });
  });

  it("bad shard values are usage errors naming the value and the valid form", () => {
    const out = join(tmp("bad"), "o");
    for (const [value, message] of [
      ["4/4", "--shard 4/4: shard 4 does not exist among 4 (they are 0 to 3); give it as i/n with 0 <= i < n"],
      ["x", '--shard "x" is not a shard: give it as i/n'],
      ["0/0", "--shard 0/0: the shard count must be at least 1"],
    ]) {
      const result = runCli(embed(IMAGES, "--out", out, "--shard", value));
      expect(result.status).toBe(2);
      expect(result.stderr).toContain(message);
    }
    const noCount = runCli(embed(IMAGES, "--out", out), { JOB_COMPLETION_INDEX: "3" });
    expect(noCount.status).toBe(2);
    expect(noCount.stderr).toContain("JOB_COMPLETION_INDEX=3 is set but EMB_SHARD_COUNT is not; set EMB_SHARD_COUNT to the Job's completions");
    const slurmNoCount = runCli(embed(IMAGES, "--out", out), { SLURM_ARRAY_TASK_ID: "3" });
    expect(slurmNoCount.stderr).toContain("SLURM_ARRAY_TASK_ID=3 is set but SLURM_ARRAY_TASK_COUNT is not");
  });

  it("emb embed text: two shards' captions together are the whole file's, each with its line and vector", () => {
    const root = tmp("text");
    const captions = join(root, "captions.txt");
    writeFileSync(captions, `${Array.from({ length: 12 }, (_, i) => `a photo of thing number ${i}`).join("\n")}\n`);
    const text = (...args: string[]) => ["embed", "text", "--file", captions, "--model", TINY, "--batch-size", "1", "--no-progress", ...args];
    expect(runCli(text("--out", join(root, "whole"))).status).toBe(0);
    const byLine = (dir: string) => {
      const { records, vectors } = readOutputText(dir);
      return new Map(records.map((r) => [r.line, vectors[r.row]]));
    };
    const whole = byLine(join(root, "whole"));
    const shards = [0, 1].map((i) => {
      expect(runCli(text("--out", join(root, `s${i}`), "--shard", `${i}/2`)).status).toBe(0);
      return byLine(join(root, `s${i}`));
    });
    const lines = [...shards[0].keys(), ...shards[1].keys()].sort((a, b) => a - b);
    expect(lines).toEqual([...whole.keys()]);
    for (const s of shards) for (const [line, v] of s) expect(v, `line ${line}`).toEqual(whole.get(line));
  });
});

function readOutputText(dir: string) {
  const npy = parseNpy(readFileSync(join(dir, "embeddings.npy")));
  const d = npy.shape[1];
  const data = npy.data as Float32Array;
  const records = readJsonl<{ row: number; line: number }>(join(dir, "index.jsonl"));
  return { records, vectors: records.map((r) => Array.from(data.slice(r.row * d, (r.row + 1) * d))) };
}

describe("--files-from", () => {
  it("embeds the listed files (from a CRLF file or standard input), reports a missing one and goes on, and resumes", () => {
    const root = tmp("list");
    const spaced = join(root, "with space");
    mkdirSync(spaced);
    copyFileSync(join(IMAGES, "photo_500x375.jpg"), join(spaced, "my photo.jpg"));
    // Relative to the current folder (the CLI runs in the repository), as find prints them.
    const listed = [relative(ROOT, join(IMAGES, "small_64x48.jpg")), join(spaced, "my photo.jpg"), join(root, "missing.jpg")];
    const list = join(root, "list.txt");
    writeFileSync(list, `${listed.join("\r\n")}\r\n\r\n`);

    const out = join(root, "out");
    const first = runCli(embed("--files-from", list, "--out", out, "--json"));
    expect(first.status, first.stderr).toBe(3);
    expect(JSON.parse(first.stdout)).toMatchObject({ total: 3, embedded: 2, failed: 1 });
    const output = readOutput(out);
    expect(output.records.map((r) => r.path)).toEqual(listed.slice(0, 2));
    expect(output.errors).toEqual([expect.objectContaining({ path: listed[2], reason: "unreadable" })]);
    expect(output.errors[0].error).toContain("no such file or directory (listed in --files-from)");

    // The same list on standard input, with a folder as a positional input as well; the listed files
    // resume, and the folder's small_64x48.jpg is the listed one however spelled.
    const stdinRun = runCli(embed(join(IMAGES), "--files-from", "-", "--out", out, "--json"), {}, { input: `${listed.join("\n")}\n` });
    expect(stdinRun.status).toBe(3);
    expect(JSON.parse(stdinRun.stdout)).toMatchObject({ total: 18, embedded: 14, unchanged: 3, failed: 1 });

    // The vectors equal those of the files embedded as arguments.
    const direct = join(root, "direct");
    expect(runCli(embed(listed[0], listed[1], "--out", direct)).status).toBe(0);
    const fromList = readOutput(out).vectors;
    for (const [path, vector] of readOutput(direct).vectors) expect(fromList.get(path), path).toEqual(vector);
  });

  it("a missing list is a usage error; no inputs at all says how to give them", () => {
    const out = join(tmp("nolist"), "o");
    const missing = runCli(embed("--files-from", "no-such-list.txt", "--out", out));
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain("--files-from no-such-list.txt: no such file; give a file of paths, one per line");
    const none = runCli(embed("--out", out));
    expect(none.status).toBe(2);
    expect(none.stderr).toContain("no inputs: give image files, folders or .tar shards as arguments, or a list of them with --files-from FILE");
  });
});

describe("webdataset .tar inputs", () => {
  const files = ["photo_500x375.jpg", "cmyk_320x240.jpg", "alpha_300x200.png", "photo_320x240.webp", "small_64x48.jpg"];
  const members = (): Member[] => [
    { name: "000.jpg", data: readFileSync(join(IMAGES, files[0])) },
    { name: "000.txt", data: "a caption" },
    { name: "001.json", data: '{"no": "image"}' },
    { name: "a/b/c.jpg", data: readFileSync(join(IMAGES, files[1])) },
    { name: "a/b/c.txt", data: "nested" },
    { name: "UPPER.PNG", data: readFileSync(join(IMAGES, files[2])) },
    { name: "w.webp", data: readFileSync(join(IMAGES, files[3])) },
    { name: "z.jpeg", data: readFileSync(join(IMAGES, files[4])) },
  ];
  const keys = ["000", "a/b/c", "UPPER", "w", "z"];

  it("embeds each sample's image as emb embed image embeds the same image as a loose file", async () => {
    const root = tmp("tar");
    const tar = join(root, "shard-00000.tar");
    await writeTar(tar, members());
    const out = join(root, "out");
    const result = runCli(embed(tar, "--out", out, "--json"));
    expect(result.status, result.stderr).toBe(3);
    expect(JSON.parse(result.stdout)).toMatchObject({ total: 6, embedded: 5, failed: 1 });
    const fromTar = readOutput(out);
    expect(fromTar.records.map((r) => r.path)).toEqual(keys.map((k) => `${tar}/${k}`));
    expect(fromTar.errors).toEqual([expect.objectContaining({ path: `${tar}/001`, reason: "no-image" })]);

    const loose = join(root, "loose");
    expect(runCli(embed(...files.map((f) => join(IMAGES, f)), "--out", loose)).status).toBe(0);
    const looseOut = readOutput(loose);
    files.forEach((f, i) => expect(fromTar.vectors.get(`${tar}/${keys[i]}`), f).toEqual(looseOut.vectors.get(join(IMAGES, f))));
    expect(fromTar.records.map((r) => r.sha256)).toEqual(looseOut.records.map((r) => r.sha256));

    // .tgz reads the same.
    const tgz = join(root, "shard-00000.tgz");
    await writeTar(tgz, members());
    const gzOut = join(root, "gz");
    runCli(embed(tgz, "--out", gzOut));
    keys.forEach((k) => expect(readOutput(gzOut).vectors.get(`${tgz}/${k}`), k).toEqual(fromTar.vectors.get(`${tar}/${k}`)));
  });

  it("a truncated tar: the samples before the damage are embedded, the damage reported; the complete tar then resumes", async () => {
    const root = tmp("tar-cut");
    const tar = join(root, "shard.tar");
    const whole = join(root, "whole.tar");
    await writeTar(whole, members());
    // Cut inside UPPER.PNG's data, as an interrupted download leaves it.
    const bytes = readFileSync(whole);
    await writeTar(tar, members(), bytes.indexOf(Buffer.from("UPPER.PNG")) + 600);
    const out = join(root, "out");
    const cut = runCli(embed(tar, "--out", out, "--json"));
    expect(cut.status).toBe(3);
    const partial = readOutput(out);
    expect(partial.records.map((r) => r.path)).toEqual([`${tar}/000`, `${tar}/a/b/c`]);
    expect(partial.errors.map((e) => [e.path, e.reason])).toEqual([
      [`${tar}/001`, "no-image"],
      [tar, "unreadable"],
    ]);
    expect(partial.errors[1].error).toContain(`the tar is damaged or truncated in sample ${tar}/UPPER`);

    // The whole tar arrives under the same name: the samples already embedded are skipped.
    copyFileSync(whole, tar);
    utimesSync(tar, new Date(), new Date());
    const resumed = runCli(embed(tar, "--out", out, "--json"));
    expect(JSON.parse(resumed.stdout)).toMatchObject({ embedded: 3, unchanged: 2, failed: 1 });
    const fresh = join(root, "fresh");
    runCli(embed(tar, "--out", fresh));
    const a = readOutput(out);
    const b = readOutput(fresh);
    expect(a.records.map((r) => r.path)).toEqual(b.records.map((r) => r.path));
    for (const [path, v] of b.vectors) expect(a.vectors.get(path), path).toEqual(v);
  });

  it("tars listed in --files-from are read as tars; each tar goes to one shard whole", async () => {
    const root = tmp("tar-list");
    const tars = [0, 1, 2, 3].map((i) => join(root, `shard-${i}.tar`));
    for (const t of tars) await writeTar(t, members().slice(0, 2));
    const list = join(root, "tars.txt");
    writeFileSync(list, tars.join("\n"));
    const seen = [0, 1].flatMap((i) => {
      const out = join(root, `out-${i}`);
      runCli(embed("--files-from", list, "--out", out, "--shard", `${i}/2`));
      return readOutput(out).records.map((r) => r.path);
    });
    expect(seen.sort()).toEqual(tars.map((t) => `${t}/000`));
  });
});

describe("emb florence and emb classify take the same inputs", () => {
  it("florence: two shards of a tar and a list write results whose union is the whole run's, with the tar's record paths", async () => {
    const root = tmp("florence");
    const tar = join(root, "s.tar");
    const names = ["photo_500x375.jpg", "small_64x48.jpg", "cmyk_320x240.jpg"];
    await writeTar(
      tar,
      names.map((f, i) => ({ name: `k${i}.jpg`, data: readFileSync(join(IMAGES, f)) })),
    );
    const list = join(root, "list.txt");
    writeFileSync(list, ["portrait_375x500.jpg", "tiny_1x1.png", "gray_320x240.jpg"].map((f) => join(IMAGES, f)).join("\n"));
    const run = (out: string, ...more: string[]) =>
      runCli([
        "florence",
        "<CAPTION>",
        tar,
        "--files-from",
        list,
        "--model",
        fixturePath("florence2-tiny"),
        "--max-new-tokens",
        "8",
        "--no-progress",
        "--out",
        out,
        ...more,
      ]);
    const results = (dir: string) => readJsonl<{ path: string; generated: string }>(join(dir, "results.jsonl"));
    expect(run(join(root, "whole")).status).toBe(0);
    const whole = results(join(root, "whole"));
    expect(whole.map((r) => r.path).slice(0, 3)).toEqual([0, 1, 2].map((i) => `${tar}/k${i}`));
    expect(whole).toHaveLength(6);
    const parts = [0, 1].flatMap((i) => {
      expect(run(join(root, `s${i}`), "--shard", `${i}/2`).status).toBe(0);
      expect(JSON.parse(readFileSync(join(root, `s${i}`, "run.json"), "utf8")).shard).toEqual({ index: i, count: 2 });
      return results(join(root, `s${i}`));
    });
    expect(parts.map((r) => [r.path, r.generated]).sort()).toEqual(whole.map((r) => [r.path, r.generated]).sort());
  });

  it("classify: one line per listed image of the shard", () => {
    const list = ["photo_500x375.jpg", "small_64x48.jpg", "cmyk_320x240.jpg", "tiny_1x1.png"].map((f) => join(IMAGES, f)).join("\n");
    const paths = [0, 1].flatMap((i) => {
      const result = runCli(
        ["classify", "--files-from", "-", "--labels", "cat,dog", "--model", TINY, "--shard", `${i}/2`, "--logit-scale", "10", "--logit-bias", "-10"],
        {},
        { input: list },
      );
      expect(result.status, result.stderr).toBe(0);
      return result.stdout
        .trim()
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l).path as string);
    });
    expect(paths.sort()).toEqual(list.split("\n").sort());
  });
});
