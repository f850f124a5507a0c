import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readJsonl } from "../../src/io/jsonl.js";
import { parseNpy } from "../../src/io/npy.js";
import { runCli, runCliAsync, startCli } from "../helpers/cli.js";
import { startFakeHub, type FakeHub } from "../helpers/fake-hub.js";
import { cosine, fixturePath, maxAbsDiff, readJson, readNpy } from "../helpers/fixtures.js";
import sharp from "sharp";

const TINY = fixturePath("siglip-tiny");
const golden = readJson("goldens", "siglip", "goldens.json");
const tmp = (name: string) => mkdtempSync(join(tmpdir(), `emb-${name}-`));

interface Output {
  rows: Float32Array[];
  records: { row: number; path: string; sha256: string }[];
  errors: { path: string; reason: string; error: string }[];
  run: any;
}

function readOutput(dir: string): Output {
  const npy = parseNpy(readFileSync(join(dir, "embeddings.npy")));
  const [n, d] = npy.shape;
  const data = npy.data as Float32Array;
  return {
    rows: Array.from({ length: n }, (_, i) => data.slice(i * d, (i + 1) * d)),
    records: readJsonl(join(dir, "index.jsonl")),
    errors: readJsonl(join(dir, "errors.jsonl")),
    run: JSON.parse(readFileSync(join(dir, "run.json"), "utf8")),
  };
}

/** The golden row for an image file, from a golden matrix in manifest order. */
function goldenRow(file: string, array = "vision_pooler_output.npy"): Float32Array {
  const npy = readNpy("goldens", "siglip", array);
  const d = npy.shape[1];
  const index = golden.images.findIndex((i: { file: string }) => i.file === basename(file));
  return (npy.data as Float32Array).slice(index * d, (index + 1) * d);
}

function imageFolder(count: number, source = "large_1280x720.jpg"): string {
  const dir = tmp("images");
  for (let i = 0; i < count; i++) copyFileSync(fixturePath("images", source), join(dir, `img_${String(i).padStart(4, "0")}.jpg`));
  return dir;
}

describe("emb embed image", () => {
  it("embeds every test image as PyTorch does (cosine >= 0.9999), rows in sorted path order", () => {
    const out = join(tmp("out"), "emb");
    const result = runCli(["embed", "image", fixturePath("images"), "--model", TINY, "--out", out, "--json", "--batch-size", "4"]);
    expect(result.status, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout);
    expect(summary).toMatchObject({ total: 15, embedded: 15, failed: 0, rows: 15 });
    const { rows, records, run } = readOutput(out);
    expect(records.map((r) => r.path)).toEqual([...records.map((r) => r.path)].sort());
    for (const [i, record] of records.entries()) {
      expect(record.row).toBe(i);
      expect(cosine(rows[i], goldenRow(record.path)), record.path).toBeGreaterThanOrEqual(0.9999);
    }
    expect(run).toMatchObject({ status: "complete", rows: 15, model: { graph: "onnx/vision_model.onnx", provider: "cpu" } });
  });

  it("--normalize writes unit vectors; the combined model.onnx layout gives PyTorch's image_embeds", () => {
    const combined = tmp("combined");
    mkdirSync(join(combined, "onnx"));
    for (const f of ["config.json", "preprocessor_config.json"]) symlinkSync(join(TINY, f), join(combined, f));
    symlinkSync(join(TINY, "onnx", "model.onnx"), join(combined, "onnx", "model.onnx"));
    const images = [fixturePath("images", "photo_500x375.jpg"), fixturePath("images", "cmyk_320x240.jpg")];
    const normalized = join(tmp("out"), "n");
    expect(runCli(["embed", "image", ...images, "--model", TINY, "--out", normalized, "--normalize"]).status).toBe(0);
    const viaCombined = join(tmp("out"), "c");
    expect(runCli(["embed", "image", ...images, "--model", combined, "--out", viaCombined]).status).toBe(0);
    const a = readOutput(normalized);
    const b = readOutput(viaCombined);
    for (const [i, path] of images.entries()) {
      const norm = Math.hypot(...a.rows[i]);
      expect(norm).toBeCloseTo(1, 5);
      expect(cosine(b.rows[i], goldenRow(path, "image_embeds.npy"))).toBeGreaterThanOrEqual(0.9999);
      expect(Math.hypot(...b.rows[i])).toBeCloseTo(1, 5);
    }
    expect(b.run.model.graph).toBe("onnx/model.onnx");
  });

  it("loads a graph whose weights sit in an external .onnx_data file", () => {
    const image = fixturePath("images", "panorama_2400x200.jpg");
    const out = join(tmp("out"), "external");
    const result = runCli(["embed", "image", image, "--model", fixturePath("siglip-tiny-external"), "--out", out]);
    expect(result.status, result.stderr).toBe(0);
    expect(cosine(readOutput(out).rows[0], goldenRow(image))).toBeGreaterThanOrEqual(0.9999);
  });

  it("--dtype fp16 and q8 pick the variant graphs; a missing variant names those that exist", () => {
    const image = fixturePath("images", "photo_500x375.jpg");
    for (const [dtype, graph, min] of [
      ["fp16", "onnx/vision_model_fp16.onnx", 0.999],
      ["q8", "onnx/vision_model_quantized.onnx", 0.99],
    ] as const) {
      const out = join(tmp("out"), dtype);
      const result = runCli(["embed", "image", image, "--model", TINY, "--out", out, "--dtype", dtype]);
      expect(result.status, result.stderr).toBe(0);
      const o = readOutput(out);
      expect(o.run.model.graph).toBe(graph);
      expect(cosine(o.rows[0], goldenRow(image))).toBeGreaterThanOrEqual(min);
    }
    const missing = runCli(["embed", "image", image, "--model", TINY, "--out", join(tmp("out"), "x"), "--dtype", "q4"]);
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toContain("no SigLIP vision graph for --dtype q4");
    expect(missing.stderr).toContain(
      "it has onnx/vision_model.onnx (--dtype fp32), onnx/vision_model_fp16.onnx (--dtype fp16), onnx/vision_model_quantized.onnx (--dtype q8), onnx/model.onnx (--dtype fp32)",
    );
  });

  it("ignores a phone photo's Display P3 profile as PIL does; --color-management srgb converts and keeps its folder apart", async () => {
    const dir = tmp("icc");
    const photo = fixturePath("photos", "icc_display_p3.jpg");
    copyFileSync(photo, join(dir, "a_p3.jpg"));
    // The same stored pixels without a profile, losslessly: what PIL hands the Python pipeline.
    const { data, info } = await sharp(photo, { ignoreIcc: true }).raw().toBuffer({ resolveWithObject: true });
    await sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } })
      .png()
      .toFile(join(dir, "b_plain.png"));
    const plain = join(tmp("out"), "none");
    // One image per batch: equal pixels then give bit-equal rows, whatever batches a loaded machine forms.
    const alone = ["--batch-size", "1"];
    expect(runCli(["embed", "image", dir, "--model", TINY, "--out", plain, ...alone]).status).toBe(0);
    const [p3, untagged] = readOutput(plain).rows;
    expect(maxAbsDiff(p3, untagged)).toBe(0);
    const converted = join(tmp("out"), "srgb");
    const srgb = runCli(["embed", "image", dir, "--model", TINY, "--out", converted, "--color-management", "srgb", ...alone]);
    expect(srgb.status, srgb.stderr).toBe(0);
    const o = readOutput(converted);
    expect(o.run.fingerprint.colorManagement).toBe("srgb");
    expect(maxAbsDiff(o.rows[0], p3)).toBeGreaterThan(1e-3);
    expect(maxAbsDiff(o.rows[1], untagged)).toBe(0);
    const mixed = runCli(["embed", "image", dir, "--model", TINY, "--out", converted, ...alone]);
    expect(mixed.status).not.toBe(0);
    expect(mixed.stderr).toContain("choose another --out or remove that folder");
  });

  it("skips bad files with a reason, embeds the rest, and exits 3 (some inputs failed)", () => {
    const dir = tmp("bad");
    const jpeg = readFileSync(fixturePath("images", "photo_500x375.jpg"));
    writeFileSync(join(dir, "a_zero.jpg"), "");
    writeFileSync(join(dir, "b_truncated.jpg"), jpeg.subarray(0, jpeg.length / 3));
    writeFileSync(join(dir, "c_text.png"), "hello, I am not a picture\n");
    writeFileSync(join(dir, "d_garbage.webp"), Buffer.from(Array.from({ length: 4000 }, (_, i) => (i * 7919) % 256)));
    copyFileSync(fixturePath("images", "large_1280x720.jpg"), join(dir, "e_bomb.jpg"));
    copyFileSync(fixturePath("images", "photo_500x375.jpg"), join(dir, "f_good.jpg"));
    copyFileSync(fixturePath("images", "small_64x48.jpg"), join(dir, "g_good.jpg"));
    const out = join(tmp("out"), "bad");
    const result = runCli(["embed", "image", dir, "--model", TINY, "--out", out, "--max-pixels", "500000"]);
    expect(result.status).toBe(3);
    expect(result.stdout).toContain("2 embedded, 0 unchanged, 5 failed of 7");
    const { records, errors } = readOutput(out);
    expect(records.map((r) => basename(r.path))).toEqual(["f_good.jpg", "g_good.jpg"]);
    expect(errors.map((e) => [basename(e.path), e.reason])).toEqual([
      ["a_zero.jpg", "empty"],
      ["b_truncated.jpg", "unreadable"],
      ["c_text.png", "unreadable"],
      ["d_garbage.webp", "unreadable"],
      ["e_bomb.jpg", "too-large"],
    ]);
    expect(errors[4].error).toContain("1280x720 = 921600 pixels, over the limit of 500000");
  });

  it("resumes: a second run embeds nothing, a changed file is embedded again and keeps one row", () => {
    const dir = imageFolder(3, "photo_500x375.jpg");
    const out = join(tmp("out"), "resume");
    const args = ["embed", "image", dir, "--model", TINY, "--out", out, "--json"];
    expect(JSON.parse(runCli(args).stdout)).toMatchObject({ embedded: 3, unchanged: 0 });
    expect(JSON.parse(runCli(args).stdout)).toMatchObject({ embedded: 0, unchanged: 3 });
    copyFileSync(fixturePath("images", "cmyk_320x240.jpg"), join(dir, "img_0001.jpg"));
    expect(JSON.parse(runCli(args).stdout)).toMatchObject({ embedded: 1, unchanged: 2, rows: 3 });
    const { rows, records } = readOutput(out);
    expect(records.map((r) => [r.row, basename(r.path)])).toEqual([
      [0, "img_0000.jpg"],
      [1, "img_0002.jpg"],
      [2, "img_0001.jpg"],
    ]);
    expect(cosine(rows[2], goldenRow("cmyk_320x240.jpg"))).toBeGreaterThanOrEqual(0.9999);
  });

  it("a run killed with SIGKILL leaves loadable outputs, and the resume ends as an uninterrupted run", async () => {
    const dir = imageFolder(160);
    const killedOut = join(tmp("out"), "killed");
    const args = (out: string) => ["embed", "image", dir, "--model", TINY, "--out", out, "--batch-size", "8", "--json"];
    const child = startCli(args(killedOut));
    const index = join(killedOut, "index.jsonl");
    await new Promise<void>((resolve, reject) => {
      const poll = setInterval(() => {
        if (existsSync(index) && readFileSync(index, "utf8").split("\n").length > 40) {
          clearInterval(poll);
          child.kill("SIGKILL");
          resolve();
        }
      }, 5);
      child.on("exit", () => {
        clearInterval(poll);
        reject(new Error("the run ended before it could be killed; give it more images"));
      });
    });
    await new Promise((r) => child.on("close", r));
    const partial = readOutput(killedOut);
    expect(partial.run.status).toBe("running");
    expect(partial.rows.length).toBeGreaterThan(0);
    expect(partial.rows.length).toBeLessThan(160);
    expect(partial.records.length).toBe(partial.rows.length);

    const resumed = await runCliAsync(args(killedOut));
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ unchanged: partial.rows.length, embedded: 160 - partial.rows.length });
    const cleanOut = join(tmp("out"), "clean");
    expect((await runCliAsync(args(cleanOut))).status).toBe(0);
    const a = readOutput(killedOut);
    const b = readOutput(cleanOut);
    expect(a.records.map((r) => r.path)).toEqual(b.records.map((r) => r.path));
    a.rows.forEach((row, i) => expect(cosine(row, b.rows[i])).toBeGreaterThanOrEqual(0.99999));
  });

  it("stops on SIGINT after the images in flight, marks the run interrupted, and resumes", async () => {
    const dir = imageFolder(240);
    const out = join(tmp("out"), "sigint");
    const args = ["embed", "image", dir, "--model", TINY, "--out", out, "--batch-size", "8"];
    const child = startCli(args);
    const index = join(out, "index.jsonl");
    const poll = setInterval(() => {
      if (existsSync(index) && readFileSync(index, "utf8").length > 0) {
        clearInterval(poll);
        child.kill("SIGINT");
      }
    }, 5);
    const status = await new Promise((r) => child.on("close", (code) => r(code)));
    clearInterval(poll);
    expect(status).toBe(130);
    const partial = readOutput(out);
    expect(partial.run.status).toBe("interrupted");
    expect(partial.records.length).toBe(partial.rows.length);
    const resumed = await runCliAsync([...args, "--json"]);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ embedded: 240 - partial.rows.length, rows: 240 });
  });

  it("explains a missing model, a missing input and a bad flag value in one sentence", () => {
    const noModel = runCli(["embed", "image", fixturePath("images"), "--model", "./models/nowhere", "--out", join(tmp("o"), "x")]);
    expect(noModel.status).not.toBe(0);
    expect(noModel.stderr).toContain("model './models/nowhere' is neither a directory nor a hub id like org/name");
    const noInput = runCli(["embed", "image", "/no/such/photos", "--model", TINY, "--out", join(tmp("o"), "y")]);
    expect(noInput.stderr).toContain("/no/such/photos: no such file or directory");
    const badDevice = runCli(["embed", "image", fixturePath("images"), "--device", "tpu"]);
    expect(badDevice.stderr).toMatch(/Expected --device=tpu to be one of: auto, cpu, cuda, webgpu/);
    const noCuda = runCli(["embed", "image", fixturePath("images"), "--model", TINY, "--device", "cuda", "--out", join(tmp("o"), "z")]);
    expect(noCuda.stderr).toContain("execution provider 'cuda' is not available");
  });

  describe("with models from a hub", () => {
    let hub: FakeHub;
    const COMMIT = "89abcdef0123456789abcdef0123456789abcdef";
    beforeAll(async () => {
      hub = await startFakeHub({
        "test-org/siglip-tiny": { dir: TINY, commit: COMMIT },
        "test-org/siglip-external": { dir: fixturePath("siglip-tiny-external"), commit: COMMIT },
      });
    });
    afterAll(() => hub.close());

    // The fake hub lives in this process, so the CLI runs asynchronously to let it answer.
    it("downloads into HF_HOME, then works offline from that cache", async () => {
      const home = tmp("hf-home");
      const image = fixturePath("images", "photo_500x375.jpg");
      const env = { HF_ENDPOINT: hub.url, HF_HOME: home };
      const online = await runCliAsync(["embed", "image", image, "--model", "test-org/siglip-tiny", "--out", join(tmp("o"), "a")], env);
      expect(online.status, online.stderr).toBe(0);
      expect(existsSync(join(home, "hub", "models--test-org--siglip-tiny", "snapshots", COMMIT, "onnx", "vision_model.onnx"))).toBe(true);
      const requests = hub.requests.length;
      const offlineOut = join(tmp("o"), "b");
      const offline = await runCliAsync(["embed", "image", image, "--model", "test-org/siglip-tiny", "--out", offlineOut], {
        ...env,
        HF_HUB_OFFLINE: "1",
      });
      expect(offline.status, offline.stderr).toBe(0);
      expect(hub.requests.length).toBe(requests);
      expect(cosine(readOutput(offlineOut).rows[0], goldenRow(image))).toBeGreaterThanOrEqual(0.9999);
    });

    it("downloads a graph's external weight file with it", async () => {
      const home = tmp("hf-home");
      const image = fixturePath("images", "photo_500x375.jpg");
      const out = join(tmp("o"), "e");
      const result = await runCliAsync(["embed", "image", image, "--model", "test-org/siglip-external", "--out", out], {
        HF_ENDPOINT: hub.url,
        HF_HOME: home,
      });
      expect(result.status, result.stderr).toBe(0);
      const snapshot = join(home, "hub", "models--test-org--siglip-external", "snapshots", COMMIT, "onnx");
      expect(existsSync(join(snapshot, "vision_model.onnx_data"))).toBe(true);
      expect(cosine(readOutput(out).rows[0], goldenRow(image))).toBeGreaterThanOrEqual(0.9999);
    });

    it("the default model with no reachable hub fails with one clear sentence", async () => {
      const result = await runCliAsync(["embed", "image", fixturePath("images"), "--out", join(tmp("o"), "d")], {
        HF_ENDPOINT: "http://127.0.0.1:9",
        HF_HOME: tmp("hf-empty"),
      });
      expect(result.status).not.toBe(0);
      expect(result.stderr).toMatch(
        /could not download onnx-community\/siglip-so400m-patch14-384-ONNX from http:\/\/127.0.0.1:9 \(.+\); pass a local model directory with --model/,
      );
    });
  });
});
