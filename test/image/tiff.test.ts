/**
 * TIFF layouts PIL converts its own way, beyond the fixtures in photos.test.ts: premultiplied
 * alpha for every 8-bit (value, alpha) pair, and the PhotometricInterpretation patch.
 */
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { decodeImage } from "../../src/image/decode.js";
import { premultipliedOf, tiffLayout, withPhotometric } from "../../src/image/tiff.js";
import { fixturePath, maxAbsDiff, readJson } from "../helpers/fixtures.js";
import { tiffFile } from "./tiff-file.js";

const manifest = readJson<{ premultiplied_table: { pixels: string } }>("goldens", "photos", "manifest.json");

describe("RGB with associated alpha", () => {
  it("divides every 8-bit (value, alpha) pair exactly as PIL does", async () => {
    // make_photos.py's premultiplied_table(): pairs with value <= alpha, alpha-major, 256 a row
    const pairs: number[] = [];
    for (let a = 0; a < 256; a++) for (let v = 0; v <= a; v++) pairs.push(v, a);
    while ((pairs.length / 2) % 256) pairs.push(0, 0);
    const rows = pairs.length / 2 / 256;
    const rgba = new Uint8Array(pairs.length * 2);
    for (let i = 0; i < pairs.length / 2; i++) rgba.set([pairs[i * 2], pairs[i * 2], pairs[i * 2], pairs[i * 2 + 1]], i * 4);
    const tiff = tiffFile(256, rows, { 258: [3, [8, 8, 8, 8]], 259: [3, [1]], 262: [3, [2]], 277: [3, [4]], 278: [4, [rows]], 338: [3, [1]] }, rgba);
    const decoded = await decodeImage(tiff);
    const { data } = await sharp(fixturePath("goldens", "photos", manifest.premultiplied_table.pixels))
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    expect(maxAbsDiff(decoded.pixels, data)).toBe(0);
  });

  it("recovers the stored sample from libvips's division, also for 16 bits", () => {
    const libvips = (v: number, a: number, max: number) => Math.min(max, Math.floor(Math.fround(Math.fround(max / a) * v)));
    for (const a of [1, 2, 255, 256, 257, 1000, 32768, 65534, 65535]) {
      for (let v = 0; v <= a; v += Math.max(1, Math.floor(a / 997))) expect(premultipliedOf(libvips(v, a, 65535), a, 65535), `${v}/${a}`).toBe(v);
    }
  });
});

describe("PhotometricInterpretation", () => {
  it("adds the tag PIL assumes to a grey TIFF without it, leaving the rest as it was", () => {
    const grey = new Uint8Array([0, 64, 128, 255]);
    const tiff = tiffFile(2, 2, { 258: [3, [8]], 259: [3, [1]], 277: [3, [1]], 278: [4, [2]] }, grey);
    const layout = tiffLayout(tiff)!;
    expect(layout.photometric).toBeUndefined();
    const patched = withPhotometric(tiff, layout);
    expect(patched.subarray(0, 4)).toEqual(tiff.subarray(0, 4));
    expect(patched.subarray(8, tiff.length)).toEqual(tiff.subarray(8));
    expect(tiffLayout(patched)).toEqual({ ...layout, photometric: 0 }); // WhiteIsZero up to 8 bits
  });

  it("leaves a TIFF alone where libvips already reads it as PIL does", () => {
    const tiff = tiffFile(2, 2, { 258: [3, [8]], 259: [3, [1]], 262: [3, [1]], 277: [3, [1]], 278: [4, [2]] }, new Uint8Array(4));
    expect(withPhotometric(tiff, tiffLayout(tiff)!)).toBe(tiff);
  });
});
