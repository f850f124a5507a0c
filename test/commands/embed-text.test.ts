import { mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readJsonl } from "../../src/io/jsonl.js";
import { parseNpy } from "../../src/io/npy.js";
import { runCli } from "../helpers/cli.js";
import { cosine, fixturePath, readJson, readNpy } from "../helpers/fixtures.js";

const TINY = fixturePath("siglip-tiny");
const golden = readJson("goldens", "siglip", "goldens.json");
const captions: { text: string; input_ids: number[]; truncated: boolean }[] = golden.captions;
const tmp = () => join(mkdtempSync(join(tmpdir(), "emb-text-")), "out");

function rows(dir: string): Float32Array[] {
  const npy = parseNpy(readFileSync(join(dir, "embeddings.npy")));
  const [n, d] = npy.shape;
  return Array.from({ length: n }, (_, i) => (npy.data as Float32Array).slice(i * d, (i + 1) * d));
}

function goldenRow(index: number, file = "text_pooler_output.npy"): Float32Array {
  const npy = readNpy("goldens", "siglip", file);
  const d = npy.shape[1];
  return (npy.data as Float32Array).slice(index * d, (index + 1) * d);
}

describe("emb embed text", () => {
  it("embeds captions from a file in input order as PyTorch does, warning about truncation", () => {
    const dir = mkdtempSync(join(tmpdir(), "emb-captions-"));
    const file = join(dir, "captions.jsonl");
    writeFileSync(file, `${captions.map((c) => JSON.stringify({ text: c.text })).join("\n")}\n`);
    const out = tmp();
    const result = runCli(["embed", "text", "--file", file, "--model", TINY, "--out", out, "--batch-size", "5"]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).toContain("1 caption(s) were longer than 64 tokens and were truncated (line 10)");
    const got = rows(out);
    expect(got).toHaveLength(captions.length);
    got.forEach((row, i) => expect(cosine(row, goldenRow(i)), captions[i].text).toBeGreaterThanOrEqual(0.9999));
    const index = readJsonl<{ row: number; line: number; text: string; truncated: boolean }>(join(out, "index.jsonl"));
    expect(index.map((r) => [r.row, r.line, r.text, r.truncated])).toEqual(captions.map((c, i) => [i, i, c.text, c.truncated]));
  });

  it("reads arguments and standard input; --normalize gives unit vectors; a second run resumes", () => {
    const out = tmp();
    const args = ["embed", "text", captions[0].text, captions[2].text, "--model", TINY, "--out", out, "--normalize", "--json"];
    expect(JSON.parse(runCli(args).stdout)).toMatchObject({ embedded: 2, unchanged: 0 });
    expect(JSON.parse(runCli(args).stdout)).toMatchObject({ embedded: 0, unchanged: 2, rows: 2 });
    const [a, b] = rows(out);
    expect(Math.hypot(...a)).toBeCloseTo(1, 5);
    expect(cosine(b, goldenRow(2))).toBeGreaterThanOrEqual(0.9999);

    const stdinOut = tmp();
    const piped = runCli(["embed", "text", "--model", TINY, "--out", stdinOut], {}, { input: `${captions[0].text}\n${captions[1].text}\n` });
    expect(piped.status, piped.stderr).toBe(0);
    const [c, d] = rows(stdinOut);
    expect(cosine(c, goldenRow(0))).toBeGreaterThanOrEqual(0.9999);
    expect(cosine(d, goldenRow(1))).toBeGreaterThanOrEqual(0.9999);
  });

  it("--ids embeds the Triton deployment's pre-tokenised rows and rejects a malformed row by name", () => {
    const dir = mkdtempSync(join(tmpdir(), "emb-ids-"));
    const good = join(dir, "input_ids.json");
    writeFileSync(good, JSON.stringify({ data: captions.slice(0, 3).map((c) => ({ INPUT_IDS: c.input_ids })) }));
    const out = tmp();
    const result = runCli(["embed", "text", "--ids", good, "--model", TINY, "--out", out]);
    expect(result.status, result.stderr).toBe(0);
    rows(out).forEach((row, i) => expect(cosine(row, goldenRow(i))).toBeGreaterThanOrEqual(0.9999));
    const bad = join(dir, "bad.json");
    writeFileSync(bad, JSON.stringify([captions[0].input_ids.slice(0, 63)]));
    const failed = runCli(["embed", "text", "--ids", bad, "--model", TINY, "--out", tmp()]);
    expect(failed.status).not.toBe(0);
    expect(failed.stderr).toContain("row 0 has 63 ids; the model takes exactly 64");
  });

  it("says what to do when no caption is given", () => {
    const result = runCli(["embed", "text", "--model", TINY, "--out", tmp()], {}, { input: "" });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("no captions given: pass them as arguments, with --file, with --ids, or on standard input");
  });

  it("a batch the model fails on is reported by line, the rest are embedded, and the run ends 'some failed' (3)", () => {
    // A model whose config claims more tokens than its graph's embedding table has: ids past the
    // table pass the config check and make onnxruntime fail the batch that holds them.
    const model = mkdtempSync(join(tmpdir(), "emb-bad-vocab-"));
    for (const f of ["onnx", "tokenizer.json", "tokenizer_config.json", "spiece.model", "special_tokens_map.json", "preprocessor_config.json"]) {
      symlinkSync(join(TINY, f), join(model, f));
    }
    const config = JSON.parse(readFileSync(join(TINY, "config.json"), "utf8"));
    config.text_config.vocab_size = 50_000;
    writeFileSync(join(model, "config.json"), JSON.stringify(config));
    const ids = captions.slice(0, 3).map((c) => c.input_ids);
    const poisoned = [...ids[1]];
    poisoned[0] = 40_000;
    const file = join(mkdtempSync(join(tmpdir(), "emb-ids-")), "ids.json");
    writeFileSync(file, JSON.stringify([ids[0], poisoned, ids[2]]));
    const out = tmp();
    const result = runCli(["embed", "text", "--ids", file, "--model", model, "--out", out, "--batch-size", "1"]);
    expect(result.status, result.stderr).toBe(3);
    const [first, third] = rows(out);
    expect(cosine(first, goldenRow(0))).toBeGreaterThanOrEqual(0.9999);
    expect(cosine(third, goldenRow(2))).toBeGreaterThanOrEqual(0.9999);
    const errors = readJsonl<{ path: string; reason: string }>(join(out, "errors.jsonl"));
    expect(errors.map((e) => [e.path, e.reason])).toEqual([["line 2", "inference"]]);
    expect(JSON.parse(readFileSync(join(out, "run.json"), "utf8")).status).toBe("complete");
  });
});

describe("default --out, and a folder of another run", () => {
  /** The refusal users read: one sentence on one line, not a dump of two run.json fingerprints. */
  function expectOneLineRefusal(run: { status: number | null; stderr: string }, ...parts: string[]) {
    expect(run.status, run.stderr).toBe(2);
    const lines = run.stderr.trim().split("\n");
    expect(lines, run.stderr).toHaveLength(1);
    expect(lines[0]).not.toContain("{");
    for (const part of parts) expect(lines[0]).toContain(part);
    expect(lines[0]).toContain("choose another --out or remove that folder");
  }

  it("emb embed image and emb embed text without --out write to different folders; a run into another run's folder is refused in one line", () => {
    const cwd = mkdtempSync(join(tmpdir(), "emb-cwd-"));
    const image = runCli(["embed", "image", fixturePath("images", "photo_500x375.jpg"), "--model", TINY, "--no-progress"], {}, { cwd });
    expect(image.status, image.stderr).toBe(0);
    const text = runCli(["embed", "text", "a photo of a cat", "--model", TINY, "--no-progress"], {}, { cwd });
    expect(text.status, text.stderr).toBe(0);
    expect(readdirSync(cwd).sort()).toEqual(["image-embeddings", "text-embeddings"]);
    expect(rows(join(cwd, "image-embeddings"))).toHaveLength(1);
    expect(rows(join(cwd, "text-embeddings"))).toHaveLength(1);

    // Text into the image folder: named, with what differs (the graph, among others).
    const mixed = runCli(["embed", "text", "a photo of a cat", "--model", TINY, "--no-progress", "--out", "image-embeddings"], {}, { cwd });
    expectOneLineRefusal(
      mixed,
      "image-embeddings holds embeddings made with other weights, graph, preprocessing, tokenizer",
      'graph "onnx/vision_model.onnx", not "onnx/text_model.onnx"',
    );
    // One setting changed: just that one named.
    const normalized = runCli(["embed", "text", "a photo of a cat", "--model", TINY, "--no-progress", "--normalize"], {}, { cwd });
    expectOneLineRefusal(normalized, "text-embeddings holds embeddings made with other normalize (normalize false, not true)");
    expect(rows(join(cwd, "text-embeddings"))).toHaveLength(1);
  });
});
