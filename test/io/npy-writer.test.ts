import { appendFileSync, mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseNpy } from "../../src/io/npy.js";
import { NPY_HEADER_BYTES, NpyAppendWriter } from "../../src/io/npy-writer.js";

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
