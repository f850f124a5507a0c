/**
 * An append-only float32 .npy matrix (rows x dim) that stays loadable at every moment.
 *
 * The header is a fixed 128 bytes, rewritten in place after each append, so a run killed at
 * any point leaves a file numpy.load reads: rows are written before the header that counts
 * them, and bytes past the counted rows (a torn append) are ignored by readers and cut off
 * when the file is reopened.
 */
import { closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, openSync, readSync, writeSync } from "node:fs";
import { float32ToFloat16 } from "../runtime/float16.js";
import { DamagedFileError } from "./jsonl.js";
import { parseNpy } from "./npy.js";

export const NPY_HEADER_BYTES = 128;

export function npyHeader(rows: number, dim: number, descr = "<f4"): Buffer {
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${rows}, ${dim}), }`;
  const room = NPY_HEADER_BYTES - 10 - 1;
  if (dict.length > room) throw new Error(`shape (${rows}, ${dim}) does not fit the .npy header`);
  const header = Buffer.alloc(NPY_HEADER_BYTES, 0x20);
  header.write("\x93NUMPY", 0, "latin1");
  header[6] = 1;
  header[7] = 0;
  header.writeUInt16LE(NPY_HEADER_BYTES - 10, 8);
  header.write(dict, 10, "latin1");
  header[NPY_HEADER_BYTES - 1] = 0x0a;
  return header;
}

export class NpyAppendWriter {
  private constructor(
    private fd: number,
    readonly dim: number,
    private count: number,
  ) {}

  /** Opens `path` for appending rows of `dim` floats, creating it or continuing what it holds. */
  static open(path: string, dim: number): NpyAppendWriter {
    if (!existsSync(path)) {
      const fd = openSync(path, "w+");
      writeSync(fd, npyHeader(0, dim), 0, NPY_HEADER_BYTES, 0);
      return new NpyAppendWriter(fd, dim, 0);
    }
    const fd = openSync(path, "r+");
    const head = Buffer.alloc(NPY_HEADER_BYTES);
    const read = readSync(fd, head, 0, NPY_HEADER_BYTES, 0);
    const fix = `remove it and index.jsonl beside it to start that folder again, or use another --out`;
    let shape: number[];
    try {
      shape = parseNpy(head.subarray(0, read), { headerOnly: true, path, fix }).shape;
    } catch (error) {
      closeSync(fd);
      if (error instanceof DamagedFileError) throw error;
      throw new DamagedFileError(`${path} has no readable .npy header (${(error as Error).message}); ${fix}`);
    }
    if (shape.length !== 2 || shape[1] !== dim) {
      closeSync(fd);
      throw new DamagedFileError(`${path} holds a (${shape.join(", ")}) matrix, not rows of ${dim}: use another --out or remove it`);
    }
    // The header may count rows whose bytes never reached the disk (a power cut with writes out
    // of order): keep only the rows the body holds, which the resume then embeds again.
    const bodyRows = Math.max(0, Math.floor((fstatSync(fd).size - NPY_HEADER_BYTES) / (dim * 4)));
    const writer = new NpyAppendWriter(fd, dim, shape[0]);
    writer.truncate(Math.min(shape[0], bodyRows));
    return writer;
  }

  get rows(): number {
    return this.count;
  }

  /** Appends whole rows (a multiple of dim floats); returns the index of the first. */
  append(values: Float32Array): number {
    if (values.length % this.dim !== 0) throw new Error(`expected a multiple of ${this.dim} values, got ${values.length}`);
    const first = this.count;
    const bytes = Buffer.from(values.buffer, values.byteOffset, values.byteLength);
    writeSync(this.fd, bytes, 0, bytes.length, NPY_HEADER_BYTES + first * this.dim * 4);
    this.count += values.length / this.dim;
    writeSync(this.fd, npyHeader(this.count, this.dim), 0, NPY_HEADER_BYTES, 0);
    return first;
  }

  /** Keeps the first `rows` rows and drops the rest (rows a crash left without an index entry). */
  truncate(rows: number): void {
    if (rows > this.count) throw new Error(`cannot keep ${rows} rows of ${this.count}`);
    this.count = rows;
    writeSync(this.fd, npyHeader(rows, this.dim), 0, NPY_HEADER_BYTES, 0);
    const size = NPY_HEADER_BYTES + rows * this.dim * 4;
    if (fstatSync(this.fd).size !== size) ftruncateSync(this.fd, size);
  }

  /** Reads rows back (used when compacting superseded rows). */
  readRows(first: number, count: number): Float32Array {
    const out = new Float32Array(count * this.dim);
    readSync(this.fd, Buffer.from(out.buffer), 0, out.byteLength, NPY_HEADER_BYTES + first * this.dim * 4);
    return out;
  }

  close(): void {
    fsyncSync(this.fd);
    closeSync(this.fd);
  }
}

/** Rows copied per write: whole blocks, so a large copy is not one header rewrite per row. */
const BLOCK_ROWS = 1024;

/** Appends `count` rows, row i from `rowAt(i)`, in blocks. */
export function appendRows(writer: NpyAppendWriter, count: number, rowAt: (i: number) => Float32Array): void {
  for (let first = 0; first < count; first += BLOCK_ROWS) {
    const n = Math.min(BLOCK_ROWS, count - first);
    const block = new Float32Array(n * writer.dim);
    for (let i = 0; i < n; i++) block.set(rowAt(first + i), i * writer.dim);
    writer.append(block);
  }
}

/**
 * Writes a whole float16 matrix of `rows` rows to `path`, row i from `rowAt(i)` rounded as
 * numpy's astype(float16) does. In blocks: a part can be a million rows, too many for one buffer.
 */
export function writeFloat16Npy(path: string, rows: number, dim: number, rowAt: (i: number) => Float32Array): void {
  const fd = openSync(path, "w");
  try {
    writeSync(fd, npyHeader(rows, dim, "<f2"));
    for (let first = 0; first < rows; first += BLOCK_ROWS) {
      const n = Math.min(BLOCK_ROWS, rows - first);
      const block = new Uint16Array(n * dim);
      for (let i = 0; i < n; i++) block.set(float32ToFloat16(rowAt(first + i)), i * dim);
      writeSync(fd, new Uint8Array(block.buffer));
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
