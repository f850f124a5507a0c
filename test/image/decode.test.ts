/**
 * Decoding + resizing reproduces the Python reference's pixels: PIL (EXIF transpose,
 * convert("RGB")) then SiglipImageProcessor's bicubic resize to 384x384. Measured pixel
 * difference against the reference: 0 on every test image (all 15 formats and shapes).
 */
import { readFileSync } from "node:fs";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { decodeAndResize, ImageDecodeError } from "../../src/image/decode.js";
import { resizeBicubicRgb } from "../../src/image/resample.js";
import { fixturePath, readJson } from "../helpers/fixtures.js";

const golden = readJson("goldens", "siglip", "goldens.json");
const florence = readJson("goldens", "florence2", "goldens.json");

async function referencePixels(path: string): Promise<Buffer> {
  return sharp(path).removeAlpha().raw().toBuffer();
}

function maxDiff(a: Uint8Array, b: Uint8Array): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

describe("decodeAndResize", () => {
  const images: { file: string; pixels: string; decoded_size: number[] }[] = golden.images;
  it.each(images)("$file matches PIL + SiglipImageProcessor exactly", async (image) => {
    const decoded = await decodeAndResize(readFileSync(fixturePath("images", image.file)), { width: 384, height: 384 });
    expect([decoded.sourceWidth, decoded.sourceHeight]).toEqual(image.decoded_size);
    const expected = await referencePixels(fixturePath("goldens", "siglip", image.pixels));
    expect(maxDiff(decoded.pixels, expected)).toBe(0);
  });

  it("matches Florence-2's 768x768 preprocessing exactly too", async () => {
    for (const c of florence.cases) {
      const decoded = await decodeAndResize(readFileSync(fixturePath("images", c.image)), { width: 768, height: 768 });
      expect(maxDiff(decoded.pixels, await referencePixels(fixturePath("goldens", "florence2", c.pixels))), c.image).toBe(0);
    }
  });

  it("reports empty, unreadable and oversized input with a reason", async () => {
    const jpeg = readFileSync(fixturePath("images", "photo_500x375.jpg"));
    const cases: [Buffer, string, RegExp][] = [
      [Buffer.alloc(0), "empty", /empty file/],
      [Buffer.from("this is not an image\n"), "unreadable", /not a readable image/],
      [jpeg.subarray(0, jpeg.length / 2), "unreadable", /could not decode this JPEG image/],
      // A PNG whose header checksum is wrong (libvips only says "Unknown error"): named as PIL finds it.
      [
        pngWithBadHeaderChecksum(),
        "unreadable",
        /could not decode this PNG image: the file is damaged \(bad checksum in its IHDR chunk; PIL cannot read it either\); export or download it again/,
      ],
      [jpeg, "too-large", /500x375 = 187500 pixels, over the limit of 1000/],
    ];
    for (const [input, reason, message] of cases) {
      const error = await decodeAndResize(input, { width: 384, height: 384 }, { maxPixels: 1000 * (reason === "too-large" ? 1 : 1e6) }).catch((e) => e);
      expect(error).toBeInstanceOf(ImageDecodeError);
      expect(error.reason).toBe(reason);
      expect(error.message).toMatch(message);
    }
  });
});

describe("resizeBicubicRgb", () => {
  it("keeps an image of the target size unchanged", () => {
    const src = Uint8Array.from({ length: 4 * 3 * 3 }, (_, i) => i * 7);
    expect(Array.from(resizeBicubicRgb(src, 4, 3, 4, 3))).toEqual(Array.from(src));
  });

  it("enlarges a 1x1 image to a flat image of its colour", () => {
    const out = resizeBicubicRgb(Uint8Array.from([200, 30, 90]), 1, 1, 2, 2);
    expect(Array.from(out)).toEqual([200, 30, 90, 200, 30, 90, 200, 30, 90, 200, 30, 90]);
  });

  it("halves a row with the kernel widened by the scale (worked by hand)", () => {
    // 4 -> 2 pixels: scale 2, support 2 * 2 = 4. Output 0 centres at 1.0 and reads inputs 0..3
    // with cubic((x - 0.5) / 2): 0.8671875, 0.8671875, 0.2265625, -0.0703125 (sum 1.890625).
    // (0 * 0.8671875 + 100 * 0.8671875 + 200 * 0.2265625 - 255 * 0.0703125) / 1.890625 = 60.35.
    const src = Uint8Array.from([0, 0, 0, 100, 100, 100, 200, 200, 200, 255, 255, 255]);
    const out = resizeBicubicRgb(src, 4, 1, 2, 1);
    expect(Array.from(out.subarray(0, 3))).toEqual([60, 60, 60]);
  });
});

function pngWithBadHeaderChecksum(): Buffer {
  const png = Buffer.from(readFileSync(fixturePath("images", "tiny_1x1.png")));
  png[29] ^= 0xff; // the last byte of the IHDR chunk's CRC
  return png;
}
