import { mkdtempSync, readFileSync, readlinkSync, realpathSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveModel } from "../../src/models/common/hub.js";
import { startFakeHub, type FakeHub } from "../helpers/fake-hub.js";
import { fixturePath } from "../helpers/fixtures.js";

const COMMIT = "0123456789abcdef0123456789abcdef01234567";
const REPO = "test-org/siglip-tiny";
const pick = (files: string[]) => files.filter((f) => f === "config.json" || f === "onnx/vision_model.onnx");

let hub: FakeHub;
beforeAll(async () => {
  hub = await startFakeHub({ [REPO]: { dir: fixturePath("siglip-tiny"), commit: COMMIT } });
});
afterAll(() => hub.close());

const freshCache = () => mkdtempSync(join(tmpdir(), "emb-hf-"));

describe("resolveModel from a hub", () => {
  it("downloads the chosen files into the Hugging Face cache layout", async () => {
    const cacheDir = freshCache();
    const progress = new Map<string, number>();
    const model = await resolveModel(REPO, pick, {
      endpoint: hub.url,
      cacheDir,
      offline: false,
      onProgress: (file, received) => progress.set(file, received),
    });
    const storage = join(cacheDir, "models--test-org--siglip-tiny");
    expect(model).toEqual({
      dir: join(storage, "snapshots", COMMIT),
      source: "hub",
      commit: COMMIT,
      repo: REPO,
      files: ["config.json", "onnx/vision_model.onnx"],
    });
    expect(readFileSync(join(storage, "refs", "main"), "utf8")).toBe(COMMIT);
    const graph = join(model.dir, "onnx", "vision_model.onnx");
    expect(readFileSync(graph)).toEqual(readFileSync(fixturePath("siglip-tiny", "onnx", "vision_model.onnx")));
    // snapshots/<commit>/<file> is a relative link to blobs/<etag>, as huggingface_hub makes it.
    expect(readlinkSync(graph).startsWith("../../../blobs/")).toBe(true);
    expect(realpathSync(graph).startsWith(realpathSync(join(storage, "blobs")))).toBe(true);
    expect(progress.get("onnx/vision_model.onnx")).toBe(readFileSync(graph).length);
    expect(hub.fileGets().filter((r) => r.endsWith("text_model.onnx"))).toEqual([]);
  });

  it("reuses cached files: a second resolve downloads nothing", async () => {
    const cacheDir = freshCache();
    await resolveModel(REPO, pick, { endpoint: hub.url, cacheDir, offline: false });
    const before = hub.fileGets().length;
    const again = await resolveModel(REPO, pick, { endpoint: hub.url, cacheDir, offline: false });
    expect(again.source).toBe("hub");
    expect(hub.fileGets().length).toBe(before);
  });

  it("works offline from the cache without a single request", async () => {
    const cacheDir = freshCache();
    await resolveModel(REPO, pick, { endpoint: hub.url, cacheDir, offline: false });
    const before = hub.requests.length;
    const offline = await resolveModel(REPO, pick, { endpoint: hub.url, cacheDir, offline: true });
    expect(offline).toMatchObject({ source: "cache", commit: COMMIT });
    expect(hub.requests.length).toBe(before);
  });

  it("offline with an empty cache says so and names the fix", async () => {
    await expect(resolveModel(REPO, pick, { endpoint: hub.url, cacheDir: freshCache(), offline: true })).rejects.toThrow(
      /is not in the Hugging Face cache .* offline mode is on .* pass a local directory with --model/,
    );
  });

  it("an unreachable hub is one clear sentence, and a cached copy is used instead when there is one", async () => {
    const cacheDir = freshCache();
    const dead = "http://127.0.0.1:9"; // discard port: connection refused
    await expect(resolveModel(REPO, pick, { endpoint: dead, cacheDir, offline: false })).rejects.toThrow(
      /^could not download test-org\/siglip-tiny from http:\/\/127.0.0.1:9 \(.*\); pass a local model directory with --model/,
    );
    await resolveModel(REPO, pick, { endpoint: hub.url, cacheDir, offline: false });
    await expect(resolveModel(REPO, pick, { endpoint: dead, cacheDir, offline: false })).resolves.toMatchObject({ source: "cache" });
  });

  it("names a repository the hub does not have", async () => {
    await expect(resolveModel("test-org/nope", pick, { endpoint: hub.url, cacheDir: freshCache(), offline: false })).rejects.toThrow(
      "model test-org/nope (revision main) was not found at",
    );
  });

  it("takes a local directory as it is and rejects a path that is not there", async () => {
    await expect(resolveModel(fixturePath("siglip-tiny"), pick)).resolves.toEqual({
      dir: fixturePath("siglip-tiny"),
      source: "local",
      files: ["config.json", "onnx/vision_model.onnx"],
    });
    await expect(resolveModel("./no/such/model", pick)).rejects.toThrow(/neither a directory nor a hub id/);
  });
});
