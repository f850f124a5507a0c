import { appendFileSync, mkdtempSync, readFileSync, statSync, truncateSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DamagedFileError } from "../../src/io/jsonl.js";
import { parseNpy } from "../../src/io/npy.js";
import { NPY_HEADER_BYTES, NpyAppendWriter, writeFloat16Npy } from "../../src/io/npy-writer.js";

const tmp = () => join(mkdtempSync(join(tmpdir(), "emb-npy-")), "embeddings.npy");

describe("NpyAppendWriter", () => {
  it("writes a float32 matrix numpy can read, header counting the rows after every append", () => {
    const path = tmp();
    const writer = NpyAppendWriter.open(path, 3);
    expect(parseNpy(readFileSync(path)).shape).toEqual([0, 3]);
    expect(writer.append(new Float32Array([1, 2, 3]))).toBe(0);
    expect(parseNpy(readFileSync(path)).shape).toEqual([1, 3]);
    expect(writer.append(new Float32Array([4, 5, 6, 7, 8, 9]))).toBe(1);
    writer.close();
    const array = parseNpy(readFileSync(path));
    expect(array.shape).toEqual([3, 3]);
    expect(Array.from(array.data as Float32Array)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // numpy's own layout: magic, version 1.0, header length, header ending in a newline.
    const bytes = readFileSync(path);
    expect(bytes.subarray(0, 8)).toEqual(Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]));
    expect(bytes.readUInt16LE(8)).toBe(NPY_HEADER_BYTES - 10);
    expect(bytes[NPY_HEADER_BYTES - 1]).toBe(0x0a);
  });

  it("reopens and continues, cutting off bytes a torn append left past the counted rows", () => {
    const path = tmp();
    const first = NpyAppendWriter.open(path, 2);
    first.append(new Float32Array([1, 2, 3, 4]));
    first.close();
    appendFileSync(path, Buffer.alloc(5)); // a crash mid-append: rows written, header not updated
    const again = NpyAppendWriter.open(path, 2);
    expect(again.rows).toBe(2);
    expect(statSync(path).size).toBe(NPY_HEADER_BYTES + 2 * 2 * 4);
    again.append(new Float32Array([5, 6]));
    again.truncate(2);
    again.append(new Float32Array([7, 8]));
    again.close();
    expect(Array.from(parseNpy(readFileSync(path)).data as Float32Array)).toEqual([1, 2, 3, 4, 7, 8]);
  });

  it("refuses a file of another width, naming both shapes", () => {
    const path = tmp();
    NpyAppendWriter.open(path, 4).close();
    expect(() => NpyAppendWriter.open(path, 8)).toThrow(/holds a \(0, 4\) matrix, not rows of 8/);
  });
});

describe("writeFloat16Npy", () => {
  it("writes a '<f2' matrix over several blocks, each value rounded to float16", () => {
    const path = tmp();
    const rows = 1030; // past one 1024-row block
    // Ties round to even: 1 + 2^-11 (between 1 and 1 + 2^-10) to 1, 2049 (between 2048 and 2050) to 2048.
    // 65520 is past float16's largest, 65504, by half a step or more: infinity.
    const special: Record<number, number> = { 0: 1 + 2 ** -11, 1: 65520, [rows - 1]: 2049 };
    const row = (i: number) => new Float32Array([i, special[i] ?? -i / 4]);
    writeFloat16Npy(path, rows, 2, row);
    const bytes = readFileSync(path);
    expect(bytes.subarray(0, NPY_HEADER_BYTES).toString("latin1")).toContain("{'descr': '<f2', 'fortran_order': False, 'shape': (1030, 2), }");
    expect(bytes.length).toBe(NPY_HEADER_BYTES + rows * 2 * 2);
    const array = parseNpy(bytes);
    expect(array.dtype).toBe("float16");
    const data = array.data as Float32Array;
    expect(Array.from(data.subarray(0, 6))).toEqual([0, 1, 1, Infinity, 2, -0.5]);
    expect(Array.from(data.subarray(2056, 2060))).toEqual([1028, -257, 1029, 2048]);
  });
});

describe("NpyAppendWriter given a file cut inside its header", () => {
  it("names the file, where it ends and the fix, as a damaged file (not a bare error)", () => {
    const path = tmp();
    NpyAppendWriter.open(path, 2).close();
    truncateSync(path, 40);
    expect(() => NpyAppendWriter.open(path, 2)).toThrow(
      new DamagedFileError(
        `${path} is cut short (it ends inside its 128-byte header, after 40 bytes); remove it and index.jsonl beside it to start that folder again, or use another --out`,
      ),
    );
  });
});
