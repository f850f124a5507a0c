import { describe, expect, it } from "vitest";
import { normalizePixels, type ImagePreprocessing } from "../../src/image/normalize.js";

const siglip: ImagePreprocessing = { width: 2, height: 2, rescale: 1 / 255, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], resample: "bicubic" };

describe("normalizePixels", () => {
  it("maps HWC bytes to CHW planes of (v / 255 - mean) / std (worked by hand)", () => {
    // pixels (R, G, B): (0, 255, 51), (255, 0, 102), (51, 102, 153), (204, 153, 0)
    const pixels = Uint8Array.from([0, 255, 51, 255, 0, 102, 51, 102, 153, 204, 153, 0]);
    // v / 255 / 0.5 - 1: 0 -> -1, 51 -> -0.6, 102 -> -0.2, 153 -> 0.2, 204 -> 0.6, 255 -> 1
    const expected = [-1, 1, -0.6, 0.6, 1, -1, -0.2, 0.2, -0.6, -0.2, 0.2, -1].map(Math.fround);
    expect(Array.from(normalizePixels(pixels, siglip))).toEqual(expected);
  });

  it("uses each channel's own mean and std (ImageNet's, Florence-2)", () => {
    const p: ImagePreprocessing = { ...siglip, width: 1, height: 1, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
    const out = normalizePixels(Uint8Array.from([255, 255, 255]), p);
    // (1 - 0.485) / 0.229 = 2.2489..., (1 - 0.456) / 0.224 = 2.4285..., (1 - 0.406) / 0.225 = 2.64
    expect(out[0]).toBeCloseTo(2.248908, 5);
    expect(out[1]).toBeCloseTo(2.428571, 5);
    expect(out[2]).toBeCloseTo(2.64, 5);
  });

  it("returns an array of its own, which outlives the next call", () => {
    const first = normalizePixels(new Uint8Array(12).fill(255), siglip);
    normalizePixels(new Uint8Array(12), siglip);
    expect(Array.from(first)).toEqual(new Array(12).fill(1));
    expect(first.buffer.byteLength).toBe(48); // transferable to another thread on its own
  });
});
