/**
 * PNG chunk limits as Pillow 11.3's PngImagePlugin has them (MAX_TEXT_CHUNK, MAX_TEXT_MEMORY,
 * unknown compression methods), on hand-built PNGs. Each case's outcome was checked against PIL:
 * Image.open, exif_transpose and convert("RGB") refuse exactly the PNGs refused here.
 */
import { deflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { decodeAndResize } from "../../src/image/decode.js";
import { checkPngChunks, MAX_TEXT_CHUNK, PngChunkError } from "../../src/image/png-chunks.js";
import { iCCP, iTXt, rgbPng, tEXt, zeroBomb, zTXt } from "./png-build.js";

const MiB = 1024 * 1024;
let bomb400: Buffer | undefined;
/** 400 MiB of zeros, deflated once (a second or two). */
const bomb = () => (bomb400 ??= zeroBomb(400 * MiB));

function refusal(png: Buffer): PngChunkError | undefined {
  try {
    checkPngChunks(png);
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(PngChunkError);
    return error as PngChunkError;
  }
}

describe("checkPngChunks", () => {
  it("refuses a compressed chunk that unpacks to more than 1 MiB, before or after the image data, as PIL does", () => {
    expect(bomb().length).toBeLessThan(MiB); // a few hundred KB on disk
    for (const chunks of [{ before: [zTXt("Raw profile type exif", "", { packed: bomb() })] }, { after: [zTXt("Comment", "", { packed: bomb() })] }]) {
      const started = performance.now();
      const error = refusal(rgbPng(8, 6, chunks));
      expect(performance.now() - started).toBeLessThan(1000); // unpacked to 1 MiB, not 400
      expect(error?.reason).toBe("too-large");
      expect(error?.message).toMatch(/^its zTXt text chunk "(Raw profile type exif|Comment)" unpacks to more than 1 MiB, the most PIL unpacks from one chunk/);
    }
    expect(refusal(rgbPng(8, 6, { before: [iTXt("XML:com.adobe.xmp", "", { packed: zeroBomb(2 * MiB) })] }))?.message).toContain(
      'its iTXt text chunk "XML:com.adobe.xmp" unpacks to more than 1 MiB',
    );
    expect(refusal(rgbPng(8, 6, { before: [iCCP("icc", Buffer.alloc(0), { packed: zeroBomb(2 * MiB) })] }))?.message).toContain(
      "its ICC profile (iCCP chunk) unpacks to more than 1 MiB",
    );
  });

  it("takes a chunk of exactly 1 MiB, and what PIL skips: damaged compressed data, an iTXt with an unknown method, uncompressed iTXt", () => {
    expect(refusal(rgbPng(8, 6, { before: [zTXt("Comment", Buffer.alloc(MAX_TEXT_CHUNK, 97))] }))).toBeUndefined();
    expect(refusal(rgbPng(8, 6, { before: [zTXt("Comment", Buffer.alloc(MAX_TEXT_CHUNK + 1, 97))] }))?.reason).toBe("too-large");
    expect(refusal(rgbPng(8, 6, { before: [zTXt("Comment", "", { packed: Buffer.from("not zlib data") })] }))).toBeUndefined();
    expect(refusal(rgbPng(8, 6, { before: [zTXt("Comment", "", { packed: deflateSync(Buffer.alloc(5000, 97)).subarray(0, 20) })] }))).toBeUndefined();
    expect(refusal(rgbPng(8, 6, { before: [iTXt("XML:com.adobe.xmp", "", { packed: zeroBomb(2 * MiB), method: 1 })] }))).toBeUndefined();
    expect(refusal(rgbPng(8, 6, { before: [iTXt("Comment", Buffer.alloc(2 * MiB, 97))] }))).toBeUndefined();
  });

  it("refuses text chunks holding more than 64 MiB of text in all, counted in characters as PIL counts", () => {
    const packed = deflateSync(Buffer.alloc(MiB - 10, 97));
    const many = (n: number) => Array.from({ length: n }, (_, i) => zTXt(`k${i}`, "", { packed }));
    expect(refusal(rgbPng(8, 6, { before: many(64) }))).toBeUndefined();
    const error = refusal(rgbPng(8, 6, { before: many(65) }));
    expect(error?.reason).toBe("too-large");
    expect(error?.message).toBe(
      "its text chunks hold more than 64 MiB of text in all, the most PIL reads (a decompression bomb guard): PIL refuses this PNG too",
    );
    // 64 MiB less 10 characters in one tEXt, then 10 more or 11 more
    const base = tEXt("big", Buffer.alloc(64 * MiB - 10, 97));
    const withText = (...more: Buffer[]) => refusal(rgbPng(8, 6, { before: [base], after: more }));
    expect(withText(tEXt("more", Buffer.alloc(10, 97)))).toBeUndefined();
    expect(withText(tEXt("more", Buffer.alloc(11, 97)))?.reason).toBe("too-large");
    // é is two bytes and one character
    expect(withText(iTXt("more", "é".repeat(10)))).toBeUndefined();
    expect(withText(iTXt("more", "é".repeat(11)))?.reason).toBe("too-large");
    // PIL counts no text under an empty keyword, and no iTXt that is not UTF-8
    expect(withText(tEXt("", Buffer.alloc(100, 97)))).toBeUndefined();
    expect(withText(iTXt("more", Buffer.alloc(100, 0xff)))).toBeUndefined();
  });

  it("refuses a zTXt or iCCP chunk with a compression method PNG does not define, as PIL cannot read it", () => {
    const ztxt = refusal(rgbPng(8, 6, { after: [zTXt("Comment", "x", { method: 1 })] }));
    expect(ztxt?.reason).toBe("unreadable");
    expect(ztxt?.message).toBe('its zTXt text chunk "Comment" names compression method 1, which PNG does not define: PIL cannot read this PNG either');
    expect(refusal(rgbPng(8, 6, { before: [iCCP("icc", Buffer.alloc(10), { method: 1 })] }))?.message).toContain(
      "its ICC profile (iCCP chunk) names compression method 1",
    );
  });

  it("passes what is not a PNG, and leaves a PNG cut short to the decoder", () => {
    expect(refusal(Buffer.from("GIF89a..."))).toBeUndefined();
    expect(refusal(Buffer.alloc(0))).toBeUndefined();
    const png = rgbPng(8, 6, { after: [zTXt("Comment", "", { packed: zeroBomb(2 * MiB) })] });
    expect(refusal(png.subarray(0, png.length - 200))).toBeUndefined();
  });
});

describe("decoding a PNG", () => {
  it("refuses a zTXt bomb before decoding, and decodes one with a small zTXt chunk as the same image without it", async () => {
    const size = { width: 16, height: 16 };
    const bombed = rgbPng(8, 6, { before: [zTXt("Raw profile type exif", "", { packed: bomb() })] });
    await expect(decodeAndResize(bombed, size)).rejects.toThrow(PngChunkError);
    const plain = await decodeAndResize(rgbPng(8, 6), size);
    const commented = await decodeAndResize(
      rgbPng(8, 6, { before: [zTXt("Comment", "made by hand")], after: [iTXt("XML:com.adobe.xmp", "<x/>", { compressed: true })] }),
      size,
    );
    expect(commented.pixels).toEqual(plain.pixels);
  });
});
