/**
 * Photo kinds PIL reads in its own way, end to end through the tiny SigLIP: the embedding of each
 * fixture with an `embedding` golden equals the Python reference's (PIL decode,
 * SiglipImageProcessor, the same vision_model.onnx under onnxruntime), written by
 * tools/reference/make_photos.py. CMYK with black ink is the case: a wrong CMYK formula moves
 * every pixel with K > 0.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SiglipEmbedder } from "../../src/index.js";
import { cosine, fixturePath, readJson, readNpy } from "../helpers/fixtures.js";

interface PhotoEntry {
  kind: string;
  file: string;
  embedding?: string;
}

const embedded = readJson<{ photos: PhotoEntry[] }>("goldens", "photos", "manifest.json").photos.filter((p) => p.embedding);

describe("photo kinds embed as the Python reference does", () => {
  let siglip: SiglipEmbedder;
  beforeAll(async () => {
    siglip = await SiglipEmbedder.open({ model: fixturePath("siglip-tiny"), device: "cpu", threads: 1 });
  });
  afterAll(() => siglip?.close());

  it("has embedding goldens for CMYK with black ink", () => {
    expect(embedded.map((p) => p.kind)).toEqual(expect.arrayContaining(["jpeg-cmyk-k-adobe", "tiff-cmyk-k"]));
  });

  it.each(embedded)("$kind ($file)", async (entry) => {
    const [vector] = await siglip.embedImages([fixturePath("photos", entry.file)]);
    const golden = readNpy("goldens", "photos", entry.embedding!).data as Float32Array;
    expect(vector).toHaveLength(golden.length);
    expect(cosine(vector, golden)).toBeGreaterThanOrEqual(0.99999);
  });
});
