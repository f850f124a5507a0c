/**
 * CMYK -> RGB as PIL's Convert.c cmyk2rgb: (255 - C)(255 - K) / 255 rounded. The old formula,
 * 255 - min(255, C + K), agrees only where K = 0, so the checks here all carry black ink.
 */
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { decodeImage } from "../../src/image/decode.js";
import { fixturePath, maxAbsDiff, readJson } from "../helpers/fixtures.js";

const manifest = readJson<{ photos: { kind: string; file: string }[]; cmyk_table: { pixels: string } }>("goldens", "photos", "manifest.json");

/** An uncompressed little-endian CMYK TIFF, one strip: what make_photos.py gives PIL for the table. */
function cmykTiff(width: number, height: number, cmyk: Uint8Array): Buffer {
  const entries: [number, number, number, number][] = [
    [256, 4, 1, width],
    [257, 4, 1, height],
    [258, 3, 4, 0], // offset filled below
    [259, 3, 1, 1],
    [262, 3, 1, 5], // separated (CMYK)
    [273, 4, 1, 0], // offset filled below
    [277, 3, 1, 4],
    [278, 4, 1, height],
    [279, 4, 1, cmyk.length],
    [284, 3, 1, 1],
  ];
  const ifdSize = 2 + 12 * entries.length + 4;
  const bitsAt = 8 + ifdSize;
  const dataAt = bitsAt + 8;
  const head = Buffer.alloc(dataAt);
  head.write("II*\0", 0, "latin1");
  head.writeUInt32LE(8, 4);
  head.writeUInt16LE(entries.length, 8);
  entries.forEach(([tag, type, count, value], i) => {
    const at = 10 + i * 12;
    head.writeUInt16LE(tag, at);
    head.writeUInt16LE(type, at + 2);
    head.writeUInt32LE(count, at + 4);
    const v = tag === 258 ? bitsAt : tag === 273 ? dataAt : value;
    if (type === 3 && tag !== 258) head.writeUInt16LE(v, at + 8);
    else head.writeUInt32LE(v, at + 8);
  });
  for (let c = 0; c < 4; c++) head.writeUInt16LE(8, bitsAt + c * 2);
  return Buffer.concat([head, cmyk]);
}

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
    const decoded = await decodeImage(cmykTiff(256, 256, cmyk));
    const { data } = await sharp(fixturePath("goldens", "photos", manifest.cmyk_table.pixels))
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    expect([decoded.width, decoded.height]).toEqual([256, 256]);
    expect(maxAbsDiff(decoded.pixels, data)).toBe(0);
  });
});
