/**
 * preprocessor_config.json's `resample`: every PIL filter loads (SigLIP 2 asks for BILINEAR, 2)
 * and gives PIL's pixels; a bicubic model's preprocessing, which output fingerprints record,
 * stays what it was; other values are refused naming the supported ones.
 */
import { createHash } from "node:crypto";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { prepareImage } from "../../src/api/images.js";
import { decodeImage } from "../../src/image/decode.js";
import { PreparePool } from "../../src/image/prepare-pool.js";
import { normalizePixels } from "../../src/image/normalize.js";
import { resizeRgb } from "../../src/image/resample.js";
import { ModelLayoutError } from "../../src/models/common/layout.js";
import { readPreprocessing } from "../../src/models/common/preprocessing.js";
import { parseTowerDtype } from "../../src/models/common/towers.js";
import { SiglipImageModel } from "../../src/models/siglip/image.js";
import { fixturePath, maxAbsDiff, readJson } from "../helpers/fixtures.js";

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A copy of the tiny SigLIP model whose preprocessor_config.json has `resample` set to `value`. */
function siglipWithResample(value: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), "emb-resample-"));
  dirs.push(dir);
  cpSync(fixturePath("siglip-tiny"), dir, { recursive: true });
  const path = join(dir, "preprocessor_config.json");
  writeFileSync(path, JSON.stringify({ ...JSON.parse(readFileSync(path, "utf8")), resample: value }, null, 2));
  return dir;
}

describe("preprocessor_config.json resample", () => {
  it("loads SigLIP 2's bilinear (2) and gives PIL's bilinear resize, rescaled and normalised", async () => {
    const model = await SiglipImageModel.load(siglipWithResample(2), parseTowerDtype("fp32"), { device: "cpu", threads: 1 });
    await model.release();
    const p = model.preprocessing;
    expect(p.resample).toBe("bilinear");
    const rgb = await decodeImage(readFileSync(fixturePath("images", "large_1280x720.jpg")));
    const resized = resizeRgb(rgb.pixels, rgb.width, rgb.height, p.width, p.height, p.resample);
    const golden = readJson("goldens", "resample", "manifest.json").filters.find((s: { source: string }) => s.source === "images/large_1280x720.jpg");
    const pil = golden.outputs.find((o: { width: number; height: number }) => o.width === p.width && o.height === p.height);
    // equal hashes: these are PIL's bytes, so the normalisation below starts from PIL's pixels
    expect(createHash("sha256").update(resized).digest("hex")).toBe(pil.sha256.bilinear);
    const plane = p.width * p.height;
    const expected = new Float32Array(3 * plane);
    for (let i = 0; i < plane; i++) {
      for (let c = 0; c < 3; c++) expected[c * plane + i] = (resized[i * 3 + c] * p.rescale - p.mean[c]) / p.std[c];
    }
    expect(maxAbsDiff(normalizePixels(resized, p), expected)).toBe(0);
    // The library and the pipeline's preparation workers resize with the model's filter too.
    const path = fixturePath("images", "large_1280x720.jpg");
    expect(maxAbsDiff((await prepareImage(path, 0, p)).pixels, expected)).toBe(0);
    const pool = new PreparePool(1);
    try {
      const reply = await pool.prepare(path, p, {});
      expect(reply.ok && maxAbsDiff(reply.pixels, expected)).toBe(0);
    } finally {
      await pool.close();
    }
  });

  it.each([
    [0, "nearest"],
    [1, "lanczos"],
    [2, "bilinear"],
    [3, "bicubic"],
    [4, "box"],
    [5, "hamming"],
  ])("names PIL's filter %i %s", (value, name) => {
    expect(readPreprocessing(siglipWithResample(value)).resample).toBe(name);
  });

  it("keeps a bicubic model's preprocessing byte for byte, so earlier output folders still resume", () => {
    const siglip = '{"width":384,"height":384,"rescale":0.00392156862745098,"mean":[0.5,0.5,0.5],"std":[0.5,0.5,0.5],"resample":"bicubic"}';
    expect(JSON.stringify(readPreprocessing(fixturePath("siglip-tiny")))).toBe(siglip);
    expect(JSON.stringify(readPreprocessing(siglipWithResample(undefined)))).toBe(siglip);
    expect(JSON.stringify(readPreprocessing(fixturePath("florence2-tiny")))).toBe(
      '{"width":768,"height":768,"rescale":0.00392156862745098,"mean":[0.485,0.456,0.406],"std":[0.229,0.224,0.225],"resample":"bicubic"}',
    );
  });

  it.each([6, -1, 2.5, "bilinear", null])("refuses resample %j, naming the supported values", (value) => {
    const dir = siglipWithResample(value);
    expect(() => readPreprocessing(dir)).toThrow(ModelLayoutError);
    expect(() => readPreprocessing(dir)).toThrow(
      `preprocessor_config.json asks for resample ${JSON.stringify(value)}; emb supports 0 (nearest), 1 (lanczos), 2 (bilinear), 3 (bicubic), 4 (box) and 5 (hamming)`,
    );
  });
});
