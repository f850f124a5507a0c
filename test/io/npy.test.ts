import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DamagedFileError } from "../../src/io/jsonl.js";
import { NpyRowReader, parseNpy } from "../../src/io/npy.js";

/** Builds .npy bytes by hand, the way numpy.save lays them out (version 1.0, header padded to 64). */
function npyBytes(descr: string, shape: string, payload: Uint8Array): Uint8Array {
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  const unpadded = 10 + header.length + 1;
  header += `${" ".repeat((64 - (unpadded % 64)) % 64)}\n`;
  const out = new Uint8Array(10 + header.length + payload.length);
  out.set([0x93, ...Buffer.from("NUMPY"), 1, 0], 0);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(Buffer.from(header, "latin1"), 10);
  out.set(payload, 10 + header.length);
  return out;
}

describe("parseNpy", () => {
  it("reads a 2x3 float32 matrix in C order", () => {
    const values = new Float32Array([1, 2, 3, 4.5, -5, 6]);
    const array = parseNpy(npyBytes("<f4", "(2, 3)", new Uint8Array(values.buffer)));
    expect(array.dtype).toBe("float32");
    expect(array.shape).toEqual([2, 3]);
    expect(Array.from(array.data as Float32Array)).toEqual([1, 2, 3, 4.5, -5, 6]);
  });

  it("reads a 1-d int64 vector", () => {
    const values = new BigInt64Array([1n, -2n, 51288n]);
    const array = parseNpy(npyBytes("<i8", "(3,)", new Uint8Array(values.buffer)));
    expect(array.shape).toEqual([3]);
    expect(Array.from(array.data as BigInt64Array)).toEqual([1n, -2n, 51288n]);
  });

  it("reads float16 as its values: normals, the largest finite, a subnormal, signed zero and infinities", () => {
    // Bit patterns worked by hand: sign | 5-bit exponent (bias 15) | 10-bit fraction.
    const bits = new Uint16Array([0x3c00, 0xc000, 0x7bff, 0x0001, 0x3555, 0x8000, 0x7c00, 0xfc00]);
    const array = parseNpy(npyBytes("<f2", "(2, 4)", new Uint8Array(bits.buffer)));
    expect(array.dtype).toBe("float16");
    expect(array.shape).toEqual([2, 4]);
    const values = Array.from(array.data as Float32Array);
    expect(values).toEqual([1, -2, 65504, 2 ** -24, 1365 / 4096, -0, Infinity, -Infinity]);
    expect(Object.is(values[5], -0)).toBe(true);
  });

  it("names the dtype it cannot read", () => {
    expect(() => parseNpy(npyBytes(">f4", "(1,)", new Uint8Array(4)))).toThrow(/unsupported .npy dtype '>f4'/);
  });

  it("rejects bytes that are not .npy", () => {
    expect(() => parseNpy(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]))).toThrow(/not a .npy file/);
  });
});

describe("a .npy file cut short", () => {
  const matrix = () => npyBytes("<f4", "(3, 2)", new Uint8Array(new Float32Array([1, 2, 3, 4, 5, 6]).buffer));

  it("inside its rows names the file, the rows the header counts and the bytes there are", () => {
    const whole = matrix();
    expect(() => parseNpy(whole.subarray(0, whole.length - 5), { path: "emb/embeddings.npy" })).toThrow(
      new DamagedFileError(
        `emb/embeddings.npy is cut short (header says 3 rows of 2 float32, ${whole.length} bytes with the header; the file holds only ${whole.length - 5} bytes); ` +
          "it was not written whole (a full disk, a copy or download that stopped): write or copy it again",
      ),
    );
  });

  it("inside its header, or before it, likewise (an empty file included); the fix can be the caller's", () => {
    const whole = matrix();
    for (const bytes of [40, 11, 5, 0]) {
      expect(() => parseNpy(whole.subarray(0, bytes), { path: "x.npy", fix: "run it again" })).toThrow(
        new RegExp(`^x\\.npy is cut short \\(it ends inside its (128-byte )?header, after ${bytes} bytes\\); run it again$`),
      );
    }
  });

  it("without a path it still says what is cut (the library's readNpy puts the path in front)", () => {
    expect(() => parseNpy(matrix().subarray(0, 140))).toThrow(/^the \.npy file is cut short \(header says 3 rows of 2 float32/);
  });

  it("NpyRowReader refuses one cut in its header and tells how far the rows fall short of the header", () => {
    const dir = mkdtempSync(join(tmpdir(), "emb-npy-cut-"));
    const whole = matrix();
    writeFileSync(join(dir, "head.npy"), whole.subarray(0, 50));
    expect(() => NpyRowReader.open(join(dir, "head.npy"), "run emb again")).toThrow(
      `${join(dir, "head.npy")} is cut short (it ends inside its 128-byte header, after 50 bytes); run emb again`,
    );
    writeFileSync(join(dir, "rows.npy"), whole.subarray(0, whole.length - 9));
    const reader = NpyRowReader.open(join(dir, "rows.npy"));
    expect([reader.rows, reader.headerRows]).toEqual([1, 3]);
    expect(reader.shortfall("rows.npy", "embed again")?.message).toBe(
      `rows.npy is cut short (header says 3 rows of 2 float32, ${whole.length} bytes with the header; the file holds only ${whole.length - 9} bytes); embed again`,
    );
    reader.close();
  });
});
