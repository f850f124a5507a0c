import { mkdirSync, mkdtempSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SiglipTextModel } from "../../src/models/siglip/text.js";
import { fixturePath, maxAbsDiff, readJson, readNpy } from "../helpers/fixtures.js";
import { parseTowerDtype } from "../../src/models/common/towers.js";

const FP32 = parseTowerDtype("fp32");

const golden = readJson("goldens", "siglip", "goldens.json");
const TINY = fixturePath("siglip-tiny");
const texts: string[] = golden.captions.map((c: { text: string }) => c.text);

function flat(rows: Float32Array[]): Float32Array {
  const out = new Float32Array(rows.length * rows[0].length);
  rows.forEach((r, i) => out.set(r, i * r.length));
  return out;
}

describe("SiglipTextModel", () => {
  it("text_model.onnx gives PyTorch's pooler_output for every golden caption, from text", async () => {
    const model = await SiglipTextModel.load(TINY, FP32, { device: "cpu" });
    const rows = await model.embedTexts(texts);
    const expected = readNpy("goldens", "siglip", "text_pooler_output.npy");
    expect(maxAbsDiff(flat(rows), expected.data as Float32Array)).toBeLessThan(1e-4);
    expect(Array.from(await model.embedText(texts[0]))).toEqual(Array.from(rows[0]));
    await model.release();
  });

  it("the combined model.onnx gives PyTorch's normalised text_embeds", async () => {
    const dir = mkdtempSync(join(tmpdir(), "emb-text-"));
    mkdirSync(join(dir, "onnx"));
    for (const f of ["config.json", "tokenizer.json", "tokenizer_config.json"]) symlinkSync(join(TINY, f), join(dir, f));
    symlinkSync(join(TINY, "onnx", "model.onnx"), join(dir, "onnx", "model.onnx"));
    const model = await SiglipTextModel.load(dir, FP32, { device: "cpu" });
    expect(model.info).toMatchObject({ graph: "onnx/model.onnx", output: "text_embeds", normalizedByModel: true });
    const rows = await model.embedTexts(texts);
    expect(maxAbsDiff(flat(rows), readNpy("goldens", "siglip", "text_embeds.npy").data as Float32Array)).toBeLessThan(1e-4);
    await model.release();
  });

  it("rejects id rows of the wrong length, naming the length SigLIP takes", async () => {
    const model = await SiglipTextModel.load(TINY, FP32, { device: "cpu" });
    await expect(model.embedIds([[1, 2, 3]])).rejects.toThrow("token id row 0 has 3 ids; this model takes exactly 64");
    await model.release();
  });
});
