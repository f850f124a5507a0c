import { describe, expect, it } from "vitest";
import { partMemory, visionImagesPerRun } from "../../src/models/florence2/model.js";

const size = { width: 768, height: 768 };

describe("visionImagesPerRun: vision encoder runs sized by their first-stage activations (64 MiB)", () => {
  it("Florence-2-large (256 channels at 192x192: 37.7 MB an image) runs one image at a time", () => {
    expect(visionImagesPerRun({ embed_dim: [256, 512, 1024, 2048], patch_stride: [4, 2, 2, 2] }, size)).toBe(1);
  });

  it("Florence-2-base (128 channels: 18.9 MB) runs 3; the tiny test model (8 channels: 1.2 MB) 56", () => {
    expect(visionImagesPerRun({ embed_dim: [128, 256, 512, 1024], patch_stride: [4, 2, 2, 2] }, size)).toBe(3);
    expect(visionImagesPerRun({ embed_dim: [8, 16, 16, 32], patch_stride: [4, 2, 2, 2] }, size)).toBe(56);
  });

  it("never less than one image, and large-model defaults when the config lacks the fields", () => {
    expect(visionImagesPerRun({ embed_dim: [4096], patch_stride: [1] }, size)).toBe(1);
    expect(visionImagesPerRun({}, size)).toBe(1);
  });
});

describe("partMemory: the encoders drop onnxruntime's arena and packed weights only where activations are large", () => {
  it("Florence-2-large and -base: no arena, no packed copies for the vision encoder and encoder", () => {
    for (const embed_dim of [
      [256, 512, 1024, 2048],
      [128, 256, 512, 1024],
    ]) {
      const memory = partMemory({ embed_dim, patch_stride: [4, 2, 2, 2] }, size);
      expect(memory.vision_encoder).toEqual({ arena: false, prepack: false });
      expect(memory.encoder_model).toEqual({ arena: false, prepack: false });
      expect(memory.decoder).toEqual({});
    }
  });

  it("the tiny test model keeps onnxruntime's defaults everywhere", () => {
    const memory = partMemory({ embed_dim: [8, 16, 16, 32], patch_stride: [4, 2, 2, 2] }, size);
    expect(Object.values(memory)).toEqual([{}, {}, {}, {}]);
  });
});
