/**
 * The tiny SigLIP fixture, run by onnxruntime-node, reproduces what PyTorch computed for it.
 * Measured when written: max abs diff 2e-6 (pooler outputs), 5e-7 (embeddings and logits).
 */
import * as ort from "onnxruntime-node";
import { beforeAll, describe, expect, it } from "vitest";
import { float16ToFloat32, float32ToFloat16 } from "../../src/runtime/float16.js";
import { cosine, fixturePath, maxAbsDiff, normalisedPixels, readJson, readNpy } from "../helpers/fixtures.js";

const golden = readJson("goldens", "siglip", "goldens.json");
const SIZE = 384;
const MEAN = [0.5, 0.5, 0.5];
const STD = [0.5, 0.5, 0.5];

let pixelValues: ort.Tensor;
let inputIds: ort.Tensor;

function session(file: string): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(fixturePath("siglip-tiny", "onnx", file), { intraOpNumThreads: 1 });
}

beforeAll(async () => {
  const images: Float32Array[] = [];
  for (const image of golden.images) {
    images.push(await normalisedPixels(fixturePath("goldens", "siglip", image.pixels), MEAN, STD));
  }
  const batch = new Float32Array(images.length * 3 * SIZE * SIZE);
  images.forEach((img, i) => batch.set(img, i * img.length));
  pixelValues = new ort.Tensor("float32", batch, [images.length, 3, SIZE, SIZE]);
  const ids = readNpy("goldens", "siglip", "input_ids.npy");
  inputIds = new ort.Tensor("int64", ids.data as BigInt64Array, ids.shape);
});

describe("tiny SigLIP fixture", () => {
  it("rebuilds pixel_values from the stored resized pixels", () => {
    const sums = readNpy("goldens", "siglip", "pixel_values_sum.npy").data as Float64Array;
    const data = pixelValues.data as Float32Array;
    const plane = SIZE * SIZE;
    const ours: number[] = [];
    for (let c = 0; c < data.length / plane; c++) {
      let s = 0;
      for (let i = 0; i < plane; i++) s += data[c * plane + i];
      ours.push(s);
    }
    // Sums of 147,456 values; the only difference is float32 rounding in the reference's
    // rescale/normalise steps (measured 0.0044). A wrong channel order, mean or std is off by >100.
    expect(maxAbsDiff(ours, sums)).toBeLessThan(0.05);
  });

  it("vision_model.onnx gives PyTorch's pooler_output for every test image", async () => {
    const out = await (await session("vision_model.onnx")).run({ pixel_values: pixelValues });
    const expected = readNpy("goldens", "siglip", "vision_pooler_output.npy");
    expect(out.pooler_output.dims).toEqual(expected.shape);
    expect(maxAbsDiff(out.pooler_output.data as Float32Array, expected.data as Float32Array)).toBeLessThan(1e-4);
  });

  it("text_model.onnx gives PyTorch's pooler_output for every caption", async () => {
    const out = await (await session("text_model.onnx")).run({ input_ids: inputIds });
    const expected = readNpy("goldens", "siglip", "text_pooler_output.npy");
    expect(out.pooler_output.dims).toEqual(expected.shape);
    expect(maxAbsDiff(out.pooler_output.data as Float32Array, expected.data as Float32Array)).toBeLessThan(1e-4);
  });

  it("model.onnx gives PyTorch's normalised embeddings and logits", async () => {
    const out = await (await session("model.onnx")).run({ input_ids: inputIds, pixel_values: pixelValues });
    for (const [name, file] of [
      ["image_embeds", "image_embeds.npy"],
      ["text_embeds", "text_embeds.npy"],
      ["logits_per_image", "logits_per_image.npy"],
    ]) {
      const expected = readNpy("goldens", "siglip", file);
      expect(out[name].dims).toEqual(expected.shape);
      expect(maxAbsDiff(out[name].data as Float32Array, expected.data as Float32Array)).toBeLessThan(1e-4);
    }
  });

  it("vision_model_quantized.onnx stays close to the fp32 embeddings", async () => {
    const out = await (await session("vision_model_quantized.onnx")).run({ pixel_values: pixelValues });
    const expected = readNpy("goldens", "siglip", "vision_pooler_output.npy");
    const dim = expected.shape[1];
    const got = out.pooler_output.data as Float32Array;
    const want = expected.data as Float32Array;
    for (let row = 0; row < expected.shape[0]; row++) {
      const slice = (a: Float32Array) => a.subarray(row * dim, (row + 1) * dim);
      expect(cosine(slice(got), slice(want))).toBeGreaterThan(0.99);
    }
  });

  it("vision_model_fp16.onnx takes and returns float16 and stays close to fp32", async () => {
    const half = new ort.Tensor("float16", float32ToFloat16(pixelValues.data as Float32Array), pixelValues.dims);
    const out = await (await session("vision_model_fp16.onnx")).run({ pixel_values: half });
    expect(out.pooler_output.type).toBe("float16");
    const got = float16ToFloat32(out.pooler_output.data as Uint16Array);
    const expected = readNpy("goldens", "siglip", "vision_pooler_output.npy");
    // Python measured 0.0027 for this export (goldens.json, onnx_vs_torch_max_abs_diff).
    expect(maxAbsDiff(got, expected.data as Float32Array)).toBeLessThan(0.02);
  });

  it("token ids are padded to 64 with </s> (id 1)", () => {
    for (const caption of golden.captions) {
      expect(caption.input_ids).toHaveLength(64);
      if (!caption.truncated) {
        const real = caption.tokens.length;
        expect(caption.input_ids.slice(real - 1)).toEqual(new Array(64 - real + 1).fill(1));
      }
    }
  });
});
