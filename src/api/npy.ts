/** NumPy .npy files for Node programs: read any the toolkit reads, write float32 matrices numpy.load reads. */
import { readFileSync } from "node:fs";
import { writeFileAtomic } from "../io/jsonl.js";
import { parseNpy, type NpyArray } from "../io/npy.js";
import { npyHeader } from "../io/npy-writer.js";

/** Reads a .npy file (float32, float64, int32, int64 or uint8; little-endian, C order), such as an `embeddings.npy`. */
export function readNpy(path: string): NpyArray {
  try {
    return parseNpy(readFileSync(path));
  } catch (error) {
    throw new Error(`${path}: ${(error as Error).message}`);
  }
}

/** The rows of a 2-D float32 array, e.g. one embedding per row. */
export function npyRows(array: NpyArray): Float32Array[] {
  if (array.dtype !== "float32" || array.shape.length !== 2) {
    throw new TypeError(`expected a 2-D float32 array, got ${array.dtype} of shape (${array.shape.join(", ")})`);
  }
  const [rows, dim] = array.shape;
  return Array.from({ length: rows }, (_, i) => (array.data as Float32Array).slice(i * dim, (i + 1) * dim));
}

/** Writes vectors of one length as a float32 (rows, dim) .npy file, replacing the file whole (never half-written). */
export function writeNpy(path: string, rows: Float32Array[]): void {
  if (rows.length === 0) throw new RangeError(`${path}: no rows to write (an empty matrix has no width)`);
  const dim = rows[0].length;
  const bad = rows.findIndex((r) => r.length !== dim);
  if (bad >= 0) throw new RangeError(`${path}: row ${bad} has ${rows[bad].length} values, row 0 has ${dim}; all rows must have the same length`);
  const body = new Float32Array(rows.length * dim);
  rows.forEach((r, i) => body.set(r, i * dim));
  writeFileAtomic(path, Buffer.concat([npyHeader(rows.length, dim), Buffer.from(body.buffer)]));
}
