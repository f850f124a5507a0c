/**
 * embedImageFolder and embedTextFile run the jobs `emb embed image` and `emb embed text` run: the
 * folder the library writes equals the command's for the same inputs and settings (embeddings.npy
 * byte for byte, index.jsonl and errors.jsonl apart from timestamps, run.json's fingerprint and
 * model), and each resumes the other's folder. Batches of one and one thread, so no batch
 * composition or thread count can change a float.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { embedImageFolder, embedTextFile } from "../../src/index.js";
import { readJsonl } from "../../src/io/jsonl.js";
import { runCli } from "../helpers/cli.js";
import { fixturePath, readJson } from "../helpers/fixtures.js";

const TINY = fixturePath("siglip-tiny");
const SAME = ["--model", TINY, "--batch-size", "1", "--threads", "1", "--json"];
const API = { model: TINY, batchSize: 1, threads: 1 };

const scratch = () => mkdtempSync(join(tmpdir(), "emb-api-folder-"));

/** What two runs of the same inputs must share: the counts, not the timings. */
function counts(outcome: object) {
  const { total, embedded, unchanged, failed, interrupted, rows } = outcome as Record<string, unknown>;
  return { total, embedded, unchanged, failed, interrupted, rows };
}

function expectSameFolder(api: string, cli: string) {
  expect(readFileSync(join(api, "embeddings.npy")).equals(readFileSync(join(cli, "embeddings.npy")))).toBe(true);
  expect(readJsonl(join(api, "index.jsonl"))).toEqual(readJsonl(join(cli, "index.jsonl")));
  const untimed = (dir: string) => readJsonl<{ time: string }>(join(dir, "errors.jsonl")).map(({ time, ...error }) => error);
  expect(untimed(api)).toEqual(untimed(cli));
  const run = (dir: string) => {
    const { command, fingerprint, model, batcher, status, rows } = JSON.parse(readFileSync(join(dir, "run.json"), "utf8"));
    return { command, fingerprint, model, batcher, status, rows };
  };
  expect(run(api)).toEqual(run(cli));
}

describe("embedImageFolder", () => {
  it("writes the folder emb embed image writes, failures included, and resumes the command's folder", async () => {
    const work = scratch();
    const bad = join(work, "broken.jpg");
    writeFileSync(bad, "not an image");
    const inputs = [fixturePath("images"), bad];
    const cliOut = join(work, "cli");
    const cli = runCli(["embed", "image", ...inputs, "--out", cliOut, "--workers", "2", ...SAME]);
    expect(cli.status, cli.stderr).toBe(3);

    const apiOut = join(work, "api");
    const events: string[] = [];
    const outcome = await embedImageFolder(inputs, { ...API, out: apiOut, workers: 2, onProgress: (e) => events.push(e.outcome) });
    expect(counts(outcome)).toEqual(counts(JSON.parse(cli.stdout)));
    expect(outcome).toMatchObject({ status: "complete", out: apiOut, failed: 1 });
    expect(events.filter((e) => e === "failed")).toHaveLength(1);
    expectSameFolder(apiOut, cliOut);

    const resumed = await embedImageFolder(inputs, { ...API, out: cliOut, workers: 2 });
    expect(resumed).toMatchObject({ embedded: 0, unchanged: outcome.embedded, rows: outcome.rows });
  });

  it("refuses a folder made with other settings, as the command does", async () => {
    const out = join(scratch(), "out");
    await embedImageFolder([fixturePath("images", "small_64x48.jpg")], { ...API, out });
    await expect(embedImageFolder([fixturePath("images", "small_64x48.jpg")], { ...API, out, normalize: true })).rejects.toThrow(
      /holds embeddings made with other normalize/,
    );
    await expect(embedImageFolder([join(out, "missing.jpg")], { ...API, out })).rejects.toThrow("no such file or directory");
  });
});

describe("embedTextFile", () => {
  const captions: { text: string }[] = readJson("goldens", "siglip", "goldens.json").captions;

  it("writes the folder emb embed text --file writes, warns of the same truncation, and resumes the command's folder", async () => {
    const work = scratch();
    const file = join(work, "captions.jsonl");
    writeFileSync(file, `${captions.map((c) => JSON.stringify({ caption: c.text })).join("\n")}\n`);
    const cliOut = join(work, "cli");
    const cli = runCli(["embed", "text", "--file", file, "--field", "caption", "--out", cliOut, ...SAME]);
    expect(cli.status, cli.stderr).toBe(0);

    const apiOut = join(work, "api");
    const warnings: string[] = [];
    const outcome = await embedTextFile(file, { ...API, field: "caption", out: apiOut, onWarning: (m) => warnings.push(m) });
    expect(counts(outcome)).toEqual(counts(JSON.parse(cli.stdout)));
    expect(outcome.truncatedLines).toEqual(JSON.parse(cli.stdout).truncatedLines);
    // The command's words (--json keeps its stderr free of warnings; test/commands/embed-text.test.ts reads them).
    expect(warnings).toEqual(["1 caption(s) were longer than 64 tokens and were truncated (line 10)"]);
    expectSameFolder(apiOut, cliOut);

    const resumed = await embedTextFile(file, { ...API, field: "caption", out: cliOut, onWarning: () => {} });
    expect(resumed).toMatchObject({ status: "complete", embedded: 0, unchanged: captions.length, rows: captions.length });
  });

  it("embeds id rows as --ids does, and names a file it cannot read", async () => {
    const work = scratch();
    const golden = readJson("goldens", "siglip", "goldens.json").captions.slice(0, 3);
    const file = join(work, "ids.json");
    writeFileSync(file, JSON.stringify(golden.map((c: { input_ids: number[] }) => c.input_ids)));
    const cliOut = join(work, "cli");
    expect(runCli(["embed", "text", "--ids", file, "--out", cliOut, ...SAME]).status).toBe(0);
    const apiOut = join(work, "api");
    await embedTextFile(file, { ...API, ids: true, out: apiOut });
    expectSameFolder(apiOut, cliOut);
    await expect(embedTextFile(join(work, "missing.txt"), { ...API, out: apiOut })).rejects.toThrow(`file ${join(work, "missing.txt")}: no such file`);
  });
});
