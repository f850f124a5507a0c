import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { weightsIdentity } from "../../src/models/common/weights-identity.js";

const tmp = (name: string) => mkdtempSync(join(tmpdir(), `emb-weights-${name}-`));
// SHA-256 of "abc", from FIPS 180-2's example.
const ABC = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
const sha = (text: string) => createHash("sha256").update(text).digest("hex");

describe("weightsIdentity", () => {
  it("hashes each file's name, size and content, in name order", async () => {
    const dir = tmp("model");
    mkdirSync(join(dir, "onnx"));
    writeFileSync(join(dir, "onnx", "model.onnx"), "abc");
    writeFileSync(join(dir, "config.json"), "");
    const empty = sha("");
    const expected = `sha256:${sha(`config.json\t0\t${empty}\nonnx/model.onnx\t3\t${ABC}\n`)}`;
    expect(await weightsIdentity(dir, ["onnx/model.onnx", "config.json"], tmp("cache"))).toBe(expected);
  });

  it("sees a file rewritten in place with the same size and its old mtime put back", async () => {
    const dir = tmp("model");
    const cache = tmp("cache");
    const graph = join(dir, "model.onnx");
    writeFileSync(graph, "abc");
    utimesSync(graph, 1_700_000_000, 1_700_000_000);
    const before = statSync(graph);
    const first = await weightsIdentity(dir, ["model.onnx"], cache);
    expect(await weightsIdentity(dir, ["model.onnx"], cache)).toBe(first);
    writeFileSync(graph, "abd");
    utimesSync(graph, 1_700_000_000, 1_700_000_000);
    expect(statSync(graph).mtimeMs).toBe(before.mtimeMs);
    expect(await weightsIdentity(dir, ["model.onnx"], cache)).not.toBe(first);
  });

  it("keeps a local file's hash in the cache folder, under what would change if the file did", async () => {
    const dir = tmp("model");
    const cache = tmp("cache");
    writeFileSync(join(dir, "model.onnx"), "abc");
    await weightsIdentity(dir, ["model.onnx"], cache);
    const [file] = readdirSync(join(cache, "file-hashes"));
    const entries = Object.values(JSON.parse(readFileSync(join(cache, "file-hashes", file), "utf8"))) as { sha256: string; size: number }[];
    expect(entries).toEqual([expect.objectContaining({ sha256: ABC, size: 3 })]);
  });

  it("takes a Hugging Face cache blob's name as its content hash, without reading it", async () => {
    const storage = tmp("hub");
    const blob = "a".repeat(64);
    mkdirSync(join(storage, "blobs"));
    mkdirSync(join(storage, "snapshots", "c0ffee", "onnx"), { recursive: true });
    writeFileSync(join(storage, "blobs", blob), "abc");
    symlinkSync(join("..", "..", "..", "blobs", blob), join(storage, "snapshots", "c0ffee", "onnx", "model.onnx"));
    const cache = tmp("cache");
    expect(await weightsIdentity(join(storage, "snapshots", "c0ffee"), ["onnx/model.onnx"], cache)).toBe(`sha256:${sha(`onnx/model.onnx\t3\tblob:${blob}\n`)}`);
  });
});
