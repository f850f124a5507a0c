/**
 * Reader for NumPy's .npy format (version 1.0-3.0, little-endian, C order): the goldens the
 * reference toolchain writes and, later, the embeddings `emb` writes.
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { float16ToFloat32 } from "../runtime/float16.js";

/** float16 (what --layout clip-retrieval writes) is read as its values, in a Float32Array. */
export type NpyDtype = "float16" | "float32" | "float64" | "int64" | "int32" | "uint8";

export interface NpyArray {
  dtype: NpyDtype;
  shape: number[];
  data: Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array;
}

const MAGIC = "\x93NUMPY";
const DESCR: Record<string, NpyDtype> = {
  "<f2": "float16",
  "<f4": "float32",
  "<f8": "float64",
  "<i8": "int64",
  "<i4": "int32",
  "|u1": "uint8",
  "<u1": "uint8",
};

export interface ParseOptions {
  /** Parse only dtype and shape; `data` comes back empty. */
  headerOnly?: boolean;
}

export function parseNpy(buffer: Uint8Array, options: ParseOptions = {}): NpyArray {
  const magic = String.fromCharCode(...buffer.subarray(0, 6));
  if (magic !== MAGIC) throw new Error("not a .npy file: the magic string \\x93NUMPY is missing");
  const major = buffer[6];
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = major === 1 ? 10 : 12;
  const header = new TextDecoder("latin1").decode(buffer.subarray(headerStart, headerStart + headerLength));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new Error(`unreadable .npy header: ${header.trim()}`);
  }
  const dtype = DESCR[descr];
  if (!dtype) throw new Error(`unsupported .npy dtype '${descr}'; supported: ${Object.keys(DESCR).join(", ")}`);
  if (fortran === "True") throw new Error("Fortran-ordered .npy arrays are not supported; save with C order");
  const shape = shapeText
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const start = headerStart + headerLength;
  if (options.headerOnly) return { dtype, shape, data: typedView(dtype, new ArrayBuffer(0)) };
  // Copy (a Node Buffer's slice would share memory) so the typed array is aligned and owns its bytes.
  const bytes = new Uint8Array(count * bytesPer(dtype));
  bytes.set(buffer.subarray(start, start + bytes.length));
  if (start + bytes.length > buffer.length) {
    throw new Error(`truncated .npy file: header promises ${count} values of ${dtype}`);
  }
  return { dtype, shape, data: typedView(dtype, bytes.buffer) };
}

function bytesPer(dtype: NpyDtype): number {
  return { float16: 2, float32: 4, float64: 8, int64: 8, int32: 4, uint8: 1 }[dtype];
}

function typedView(dtype: NpyDtype, buffer: ArrayBuffer): NpyArray["data"] {
  switch (dtype) {
    case "float16":
      return float16ToFloat32(new Uint16Array(buffer));
    case "float32":
      return new Float32Array(buffer);
    case "float64":
      return new Float64Array(buffer);
    case "int64":
      return new BigInt64Array(buffer);
    case "int32":
      return new Int32Array(buffer);
    case "uint8":
      return new Uint8Array(buffer);
  }
}

/**
 * Rows of a float32 .npy matrix read from disk on demand (one pread each), for folders too
 * large to load whole. Rows past what the body holds (a run killed mid-append) are not counted.
 */
export class NpyRowReader {
  private constructor(
    private readonly fd: number,
    private readonly dataStart: number,
    readonly rows: number,
    readonly dim: number,
  ) {}

  static open(path: string): NpyRowReader {
    const fd = openSync(path, "r");
    try {
      const head = Buffer.alloc(Math.min(65_536, fstatSync(fd).size));
      readSync(fd, head, 0, head.length, 0);
      const { dtype, shape } = parseNpy(head, { headerOnly: true });
      if (dtype !== "float32" || shape.length !== 2) throw new Error(`${path} is not a float32 matrix`);
      const dataStart = head[6] === 1 ? 10 + head.readUInt16LE(8) : 12 + head.readUInt32LE(8);
      const bodyRows = Math.floor((fstatSync(fd).size - dataStart) / (shape[1] * 4));
      return new NpyRowReader(fd, dataStart, Math.min(shape[0], bodyRows), shape[1]);
    } catch (error) {
      closeSync(fd);
      throw error;
    }
  }

  row(index: number): Float32Array {
    if (index < 0 || index >= this.rows) throw new RangeError(`row ${index} is outside the ${this.rows} rows`);
    const out = new Float32Array(this.dim);
    readSync(this.fd, Buffer.from(out.buffer), 0, out.byteLength, this.dataStart + index * this.dim * 4);
    return out;
  }

  close(): void {
    closeSync(this.fd);
  }
}
