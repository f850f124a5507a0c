/**
 * Messages of runs that cannot go on: each names the value that is wrong and the fix in one
 * sentence, with the exit status of its kind (2 usage, 1 the environment or a damaged file), never
 * a bare errno or "report it". Each case is run as a user would, through the built CLI.
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { fixturePath } from "../helpers/fixtures.js";
import { canMountTmpfs } from "../helpers/tmpfs.js";

const SIGLIP = fixturePath("siglip-tiny");
const FLORENCE = fixturePath("florence2-tiny");
const IMAGE = fixturePath("images", "small_64x48.jpg");
const ANNOTATIONS = fixturePath("coco", "captions_test.json");
const RESULTS = fixturePath("coco", "results_test.json");
const tmp = (name: string) => mkdtempSync(join(tmpdir(), `emb-messages-${name}-`));

/** A knn dataset: train/<label>/ and valid/<label>/ with one image each. */
function knnData(labels = ["cat", "dog"]): string {
  const data = tmp("knn");
  for (const split of ["train", "valid"]) {
    for (const [i, label] of labels.entries()) {
      mkdirSync(join(data, split, label), { recursive: true });
      copyFileSync(fixturePath("images", i % 2 ? "gray_320x240.jpg" : "small_64x48.jpg"), join(data, split, label, "a.jpg"));
    }
  }
  return data;
}

/** An embed image folder of two rows. */
function embeddingFolder(): string {
  const out = join(tmp("emb"), "emb");
  const run = runCli(["embed", "image", IMAGE, fixturePath("images", "gray_320x240.jpg"), "--model", SIGLIP, "--out", out, "--no-progress"]);
  expect(run.status, run.stderr).toBe(0);
  return out;
}

/** The message of a failed run: one "Error:" line, no "report it" fallback, no errno dump. */
function errorLine(stderr: string): string {
  const lines = stderr.split("\n").filter((l) => l.startsWith("Error: "));
  expect(lines, stderr).toHaveLength(1);
  expect(stderr).not.toContain("report it");
  expect(lines[0]).not.toMatch(/^Error: E[A-Z]+: /);
  return lines[0];
}

/** Runs and checks the status, also with --json where the command has it; returns the message. */
function refused(args: string[], status: number, options: { cwd?: string; json?: boolean } = {}): string {
  const run = runCli(args, {}, { cwd: options.cwd });
  expect(run.status, `${args.slice(0, 2).join(" ")}: ${run.stderr}`).toBe(status);
  if (options.json !== false) {
    const json = runCli([...args, "--json"], {}, { cwd: options.cwd });
    expect(json.status, `${args.slice(0, 2).join(" ")} --json: ${json.stdout}`).toBe(status);
  }
  return errorLine(run.stderr);
}

/** Every command with --out, writing to `out`. */
function commandsWithOut(out: string, data: string, embeddings: string): string[][] {
  return [
    ["embed", "image", IMAGE, "--model", SIGLIP, "--out", out],
    ["embed", "text", "a cat", "--model", SIGLIP, "--out", out],
    ["classify", IMAGE, "--labels", "cat,dog", "--model", SIGLIP, "--out", out],
    ["florence", "<CAPTION>", fixturePath("images"), "--model", FLORENCE, "--max-new-tokens", "2", "--out", out],
    ["coco", "eval", "--results", RESULTS, "--annotations", ANNOTATIONS, "--bootstrap", "0", "--out", out],
    ["knn", "eval", "--data", data, "--shots", "1", "--model", SIGLIP, "--out", out],
    ["merge", embeddings, "--out", out],
  ];
}

describe("a .npy file cut short", () => {
  const folder = embeddingFolder();
  const cut = (bytes: number) => {
    const copy = join(tmp("cut"), "emb");
    cpSync(folder, copy, { recursive: true });
    truncateSync(join(copy, "embeddings.npy"), bytes);
    return copy;
  };

  it("inside its header: emb merge, knn eval --embeddings and the resume name the file and the fix (exit 1)", () => {
    for (const bytes of [100, 40, 0]) {
      const broken = cut(bytes);
      const npy = join(broken, "embeddings.npy");
      const merge = refused(["merge", folder, broken, "--out", join(tmp("merged"), "m")], 1);
      expect(merge).toContain(`${npy} is cut short (it ends inside its`);
      expect(merge).toContain(`after ${bytes} bytes); remove it and index.jsonl beside it, then run the emb embed command that made that folder again`);
      const knn = refused(["knn", "eval", "--data", knnData(), "--embeddings", broken, "--shots", "1", "--model", SIGLIP, "--out", join(tmp("k"), "k")], 1);
      expect(knn).toContain(`${npy} is cut short (it ends inside its`);
      const resume = refused(["embed", "image", IMAGE, "--model", SIGLIP, "--out", broken], 1);
      expect(resume).toContain(`${npy} is cut short (it ends inside its`);
      expect(resume).toContain("remove it and index.jsonl beside it to start that folder again, or use another --out");
    }
  });

  it("inside its rows: named with the rows the header counts and the bytes there are; merge --allow-partial takes the rows it holds", () => {
    const broken = cut(200); // 128 header bytes and 72 of the 2 x 32 x 4 row bytes
    const npy = join(broken, "embeddings.npy");
    const merge = refused(["merge", folder, broken, "--out", join(tmp("merged"), "m")], 1);
    expect(merge).toContain(`${npy} is cut short (header says 2 rows of 32 float32, 384 bytes with the header; the file holds only 200 bytes);`);
    expect(merge).toContain(`run the emb embed command that made ${broken} on it again to embed the missing rows, or pass --allow-partial`);
    const knn = refused(["knn", "eval", "--data", knnData(), "--embeddings", broken, "--shots", "1", "--model", SIGLIP, "--out", join(tmp("k"), "k")], 1);
    expect(knn).toContain(`${npy} is cut short (header says 2 rows of 32 float32`);
    const partial = runCli(["merge", folder, broken, "--out", join(tmp("merged"), "m"), "--allow-partial"]);
    expect(partial.status, partial.stderr).toBe(0);
  });
});

describe("--out that cannot be an output folder", () => {
  it("a file where the folder would be is a usage error naming the flag, for every command (exit 2)", () => {
    const dir = tmp("file-out");
    const file = join(dir, "taken");
    writeFileSync(file, "not a folder");
    for (const args of commandsWithOut(file, knnData(), embeddingFolder())) {
      expect(refused(args, 2)).toContain(`--out ${file} is a file, not a folder; give a folder (a new one is made), or remove that file`);
    }
    for (const args of commandsWithOut(join(file, "sub"), knnData(), embeddingFolder())) {
      expect(refused(args, 2, { json: false })).toContain(`--out ${join(file, "sub")} cannot be made: ${file} is a file, not a folder; choose another folder`);
    }
    expect(readFileSync(file, "utf8")).toBe("not a folder");
  });

  it.skipIf(!canMountTmpfs())("a read-only folder is an environment error naming the folder (exit 1), for every command, --cache-dir and --draw", () => {
    const ro = tmp("ro");
    execFileSync("mount", ["-t", "tmpfs", "-o", "ro,size=16k", "tmpfs", ro]);
    try {
      for (const out of [ro, join(ro, "sub")]) {
        for (const args of commandsWithOut(out, knnData(), embeddingFolder())) {
          const message = refused(args, 1, { json: false });
          expect(message).toContain(`--out ${out} cannot be`);
          expect(message).toContain("(a read-only file system); choose a folder on a writable disk");
        }
      }
      const cache = ["knn", "eval", "--data", knnData(), "--shots", "1", "--model", SIGLIP, "--out", join(tmp("k"), "k"), "--cache-dir", ro];
      expect(refused(cache, 1)).toContain(`--cache-dir ${ro} cannot be written (a read-only file system)`);
      const draw = ["florence", "<OD>", fixturePath("images"), "--model", FLORENCE, "--out", join(tmp("f"), "f"), "--draw", ro];
      expect(refused(draw, 1)).toContain(`--draw ${ro} cannot be written (a read-only file system)`);
    } finally {
      execFileSync("umount", [ro]);
    }
  });
});

describe("a disk still full when a run is started again", () => {
  it.skipIf(!canMountTmpfs())("is one sentence naming the folder and the fix (exit 1), and leaves no lock that blocks the run after space is freed", () => {
    const disk = tmp("full");
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=16k", "tmpfs", disk]);
    try {
      try {
        writeFileSync(join(disk, "filler"), Buffer.alloc(64 * 1024));
      } catch {
        // full: what the test wants
      }
      const out = join(disk, "out");
      for (const args of [
        ["embed", "image", IMAGE, "--model", SIGLIP, "--out", out],
        ["embed", "text", "a cat", "--model", SIGLIP, "--out", out],
        ["classify", IMAGE, "--labels", "cat,dog", "--model", SIGLIP, "--out", out],
        ["coco", "eval", "--results", RESULTS, "--annotations", ANNOTATIONS, "--bootstrap", "0", "--out", out],
      ]) {
        expect(refused(args, 1)).toContain(
          `cannot write to ${out} (the disk is full, ENOSPC); free space (or choose a folder on another disk) and run the same command again`,
        );
      }
      expect(existsSync(join(out, ".emb.lock"))).toBe(false);
      execFileSync("rm", [join(disk, "filler")]);
      execFileSync("mount", ["-o", "remount,size=8m", disk]);
      const freed = runCli(["embed", "image", IMAGE, "--model", SIGLIP, "--out", out]);
      expect(freed.status, freed.stderr).toBe(0);
    } finally {
      execFileSync("umount", [disk]);
    }
  });
});

describe("an empty --out", () => {
  it("is a usage error naming the flag, for every command, and writes nothing into the current folder (exit 2)", () => {
    const cwd = tmp("cwd");
    for (const args of commandsWithOut("", knnData(), embeddingFolder())) {
      expect(refused(args, 2, { cwd })).toMatch(/--out is empty: give a folder name(, e\.g\. --out \S+)? \(an empty one would mean the current folder\)/);
    }
    expect(refused(["knn", "eval", "--data", knnData(), "--model", SIGLIP, "--out", join(cwd, "k"), "--cache-dir", ""], 2, { cwd })).toContain(
      "--cache-dir is empty: give a folder name",
    );
    expect(refused(["florence", "<OD>", fixturePath("images"), "--model", FLORENCE, "--draw", ""], 2, { cwd })).toContain("--draw is empty");
    expect(readdirSync(cwd)).toEqual([]);
  });
});

describe("a knn eval class folder whose name is not UTF-8", () => {
  it("works like any class: listed by its bytes, shown with \\xHH, its images embedded and scored", () => {
    const data = knnData();
    for (const split of ["train", "valid"]) {
      const folder = Buffer.concat([Buffer.from(join(data, split, "caf")), Buffer.from([0xe9])]); // "café" from a Latin-1 system
      mkdirSync(folder);
      writeFileSync(Buffer.concat([folder, Buffer.from("/a.jpg")]), readFileSync(fixturePath("images", "photo_500x375.jpg")));
    }
    const out = join(tmp("k"), "k");
    const run = runCli(["knn", "eval", "--data", data, "--shots", "1", "--model", SIGLIP, "--out", out, "--cache-dir", tmp("cache"), "--json"]);
    expect(run.status, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as {
      images: { valid: number; train: number; failed: number };
      methods: { queries: number; perClass: { label: string }[] }[];
      failures: unknown[];
    };
    expect(report.images).toMatchObject({ valid: 3, train: 3, failed: 0 });
    expect(report.failures).toEqual([]);
    expect(report.methods[0].queries).toBe(3);
    expect(report.methods[0].perClass.map((c) => c.label)).toContain("caf\\xe9");
    expect(JSON.stringify(report)).not.toContain("\ufffd"); // no mangled name
  });
});

describe("inputs that start with a UTF-8 byte order mark", () => {
  const bom = (path: string) => {
    const copy = join(tmp("bom"), path.split("/").pop()!);
    writeFileSync(copy, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), readFileSync(path)]));
    return copy;
  };

  it("COCO annotations and results files are read as without it", () => {
    const plain = runCli(["coco", "eval", "--results", RESULTS, "--annotations", ANNOTATIONS, "--bootstrap", "0", "--out", join(tmp("c"), "c"), "--json"]);
    const marked = runCli([
      "coco",
      "eval",
      "--results",
      bom(RESULTS),
      "--annotations",
      bom(ANNOTATIONS),
      "--bootstrap",
      "0",
      "--out",
      join(tmp("c"), "c"),
      "--json",
    ]);
    expect(marked.status, marked.stderr).toBe(0);
    expect(JSON.parse(marked.stdout).metrics).toEqual(JSON.parse(plain.stdout).metrics);
  });

  it("a captions file (.txt and .jsonl), a --labels-file and a knn --labels file are read as without it", () => {
    const dir = tmp("bom-text");
    const marked = (name: string, text: string) => {
      writeFileSync(join(dir, name), Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]));
      return join(dir, name);
    };
    for (const file of [marked("c.txt", "a cat\n"), marked("c.jsonl", '{"text": "a cat"}\n')]) {
      const out = join(tmp("t"), "t");
      const run = runCli(["embed", "text", "--file", file, "--model", SIGLIP, "--out", out]);
      expect(run.status, run.stderr).toBe(0);
      expect(JSON.parse(readFileSync(join(out, "index.jsonl"), "utf8").split("\n")[0]).text).toBe("a cat");
    }
    const classify = runCli(["classify", IMAGE, "--labels-file", marked("labels.txt", "cat\ndog\n"), "--model", SIGLIP, "--json"]);
    expect(classify.status, classify.stderr).toBe(0);
    expect(JSON.stringify(JSON.parse(classify.stdout))).not.toContain("\\ufeff");
    const knn = runCli([
      "knn",
      "eval",
      "--data",
      knnData(),
      "--zero-shot",
      "--labels",
      marked("map.txt", "cat house cat\ndog puppy\n"),
      "--model",
      SIGLIP,
      "--out",
      join(tmp("k"), "k"),
      "--cache-dir",
      tmp("cache"),
      "--json",
    ]);
    expect(knn.status, knn.stderr).toBe(0);
    expect(JSON.parse(knn.stdout).mapping).toMatchObject({ source: "file", classes: 2 });
  });
});

describe("image folders with no images", () => {
  it("coco eval --images: names the folder and what it should hold, before anything is written (exit 2)", () => {
    const empty = tmp("empty");
    const out = join(tmp("c"), "c");
    const base = ["coco", "eval", "--annotations", ANNOTATIONS, "--model", FLORENCE, "--max-new-tokens", "2", "--bootstrap", "0", "--out", out];
    expect(refused([...base, "--images", empty], 2)).toContain(`--images ${empty} is an empty folder; give the folder that the "file_name" entries of`);
    writeFileSync(join(empty, "notes.txt"), "x");
    expect(refused([...base, "--images", empty], 2)).toContain(`--images ${empty} holds none of the 66 annotated images (no COCO_`);
    expect(existsSync(out)).toBe(false);
  });

  it("knn eval: a valid split, or for few-shot a train split, without images names the folder and the extensions looked for (exit 2)", () => {
    const data = tmp("knn-empty");
    for (const split of ["train", "valid"]) mkdirSync(join(data, split, "cat"), { recursive: true });
    writeFileSync(join(data, "valid", "cat", "a.txt"), "x");
    const base = ["knn", "eval", "--data", data, "--model", SIGLIP, "--out", join(tmp("k"), "k"), "--cache-dir", tmp("cache")];
    const valid = refused(base, 2);
    expect(valid).toContain(`${join(data, "valid")} has no images with the extensions jpg, jpeg, png`);
    expect(valid).toContain(`put the images in ${join(data, "valid")}/<label>/ or give --ext the extensions they have`);
    copyFileSync(IMAGE, join(data, "valid", "cat", "a.jpg"));
    const train = refused([...base, "--shots", "1"], 2);
    expect(train).toContain(`${join(data, "train")} has no images with the extensions`);
    expect(train).toContain("or use --zero-shot alone");
  });

  it("perf --input: names the folder and the fix (exit 2)", () => {
    const empty = tmp("empty");
    expect(refused(["perf", "--input", empty, "--model", SIGLIP, "--measurement-interval", "100"], 2)).toContain(
      `--input ${empty} has no images with the extensions jpg, jpeg, png`,
    );
  });
});

describe("emb perf --image-size out of range", () => {
  it.each(["0x0", "-5x5", "100000x100000", "70000x10", "20000x20000"])("%s is refused with the valid range (exit 2)", (size) => {
    expect(refused(["perf", "--model", SIGLIP, `--image-size=${size}`], 2)).toContain(
      `--image-size ${size}: each side must be 1 to 65500 pixels (JPEG's limit) and W x H at most 178956970 pixels (the decoder's limit)`,
    );
  });
});

describe("values that are not there", () => {
  it("merge --allow-partial of a folder whose run.json records no status says so, not 'null'", () => {
    const folder = embeddingFolder();
    const run = JSON.parse(readFileSync(join(folder, "run.json"), "utf8"));
    delete run.status;
    writeFileSync(join(folder, "run.json"), JSON.stringify(run));
    const merged = runCli(["merge", folder, "--out", join(tmp("m"), "m"), "--allow-partial"]);
    expect(merged.status, merged.stderr).toBe(0);
    expect(merged.stderr).toContain("was unfinished (run.json status not recorded)");
    expect(merged.stderr).not.toMatch(/null|undefined/);
  });
});
