/**
 * CMYK -> RGB as PIL's Convert.c cmyk2rgb: (255 - C)(255 - K) / 255 rounded. The old formula,
 * 255 - min(255, C + K), agrees only where K = 0, so the checks here all carry black ink.
 */
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { decodeImage } from "../../src/image/decode.js";
import { fixturePath, maxAbsDiff, readJson } from "../helpers/fixtures.js";
import { tiffFile } from "./tiff-file.js";

const manifest = readJson<{ photos: { kind: string; file: string }[]; cmyk_table: { pixels: string } }>("goldens", "photos", "manifest.json");

describe("CMYK with black ink", () => {
  it("has fixtures with K > 0 in every container PIL reads CMYK from", () => {
    const kinds = manifest.photos.map((p) => p.kind);
    for (const kind of ["jpeg-cmyk-k-adobe", "jpeg-cmyk-k-no-adobe", "jpeg-ycck-k-adobe", "tiff-cmyk-k", "tiff-cmyk-k-lzw"]) {
      expect(kinds).toContain(kind);
    }
  });

  it("converts every (C, K) pair exactly as PIL does", async () => {
    // C = x, M = 255 - x, Y = (x + y) % 256, K = y (the table make_photos.py decodes with PIL)
    const cmyk = new Uint8Array(256 * 256 * 4);
    for (let y = 0, i = 0; y < 256; y++) {
      for (let x = 0; x < 256; x++, i += 4) cmyk.set([x, 255 - x, (x + y) % 256, y], i);
    }
    // 8 bits x 4, uncompressed, photometric 5 (separated), 4 samples, one strip
    const decoded = await decodeImage(tiffFile(256, 256, { 258: [3, [8, 8, 8, 8]], 259: [3, [1]], 262: [3, [5]], 277: [3, [4]], 278: [4, [256]] }, cmyk));
    const { data } = await sharp(fixturePath("goldens", "photos", manifest.cmyk_table.pixels))
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    expect([decoded.width, decoded.height]).toEqual([256, 256]);
    expect(maxAbsDiff(decoded.pixels, data)).toBe(0);
  });
});
