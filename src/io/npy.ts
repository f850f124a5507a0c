/**
 * Reader for NumPy's .npy format (version 1.0-3.0, little-endian, C order): the goldens the
 * reference toolchain writes and, later, the embeddings `emb` writes.
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { float16ToFloat32 } from "../runtime/float16.js";
import { DamagedFileError } from "./jsonl.js";

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
  /** The file the bytes come from, named in errors. */
  path?: string;
  /** What to do about a file that is cut short (default: write or copy it again). */
  fix?: string;
}

const DEFAULT_FIX = "it was not written whole (a full disk, a copy or download that stopped): write or copy it again";

/**
 * A .npy file shorter than its header says: one sentence naming the file, what the header
 * promised, what the file holds, and `fix`. Without a path it reads "the .npy file is cut short".
 */
export function cutShortError(path: string | undefined, detail: string, fix = DEFAULT_FIX): DamagedFileError {
  return new DamagedFileError(`${path ?? "the .npy file"} is cut short (${detail}); ${fix}`);
}

/** "120 rows of 768 float32" for a matrix, "shape (2, 3, 4) of float32" otherwise. */
export function describeShape(shape: number[], dtype: string): string {
  return shape.length === 2 ? `${shape[0]} rows of ${shape[1]} ${dtype}` : `shape (${shape.join(", ")}) of ${dtype}`;
}

export function parseNpy(buffer: Uint8Array, options: ParseOptions = {}): NpyArray {
  const { path, fix } = options;
  const magic = String.fromCharCode(...buffer.subarray(0, 6));
  // A file that ends before its header does (even an empty one) was cut, not written as something else.
  const prefix = Math.min(buffer.length, 6);
  if (buffer.length < 12 && magic.slice(0, prefix) === MAGIC.slice(0, prefix)) {
    throw cutShortError(path, `it ends inside its header, after ${buffer.length} bytes`, fix);
  }
  if (magic !== MAGIC) throw new DamagedFileError(`${path ?? "the file"} is not a .npy file (the magic string \\x93NUMPY is missing)`);
  const major = buffer[6];
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = major === 1 ? 10 : 12;
  if (headerStart + headerLength > buffer.length) {
    throw cutShortError(path, `it ends inside its ${headerStart + headerLength}-byte header, after ${buffer.length} bytes`, fix);
  }
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
  if (start + bytes.length > buffer.length) {
    throw cutShortError(
      path,
      `header says ${describeShape(shape, dtype)}, ${start + bytes.length} bytes with the header; the file holds only ${buffer.length} bytes`,
      fix,
    );
  }
  bytes.set(buffer.subarray(start, start + bytes.length));
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
 * large to load whole. Rows past what the body holds (a run killed mid-append) are not counted;
 * `headerRows` says how many the header counts, so a reader that needs them all can refuse.
 */
export class NpyRowReader {
  private constructor(
    private readonly fd: number,
    private readonly dataStart: number,
    readonly rows: number,
    readonly dim: number,
    readonly headerRows: number,
    /** The file's size in bytes. */
    readonly bytes: number,
  ) {}

  /** `fix`: what to do about a file cut short inside its header. */
  static open(path: string, fix?: string): NpyRowReader {
    const fd = openSync(path, "r");
    try {
      const size = fstatSync(fd).size;
      const head = Buffer.alloc(Math.min(65_536, size));
      readSync(fd, head, 0, head.length, 0);
      const { dtype, shape } = parseNpy(head, { headerOnly: true, path, fix });
      if (dtype !== "float32" || shape.length !== 2) {
        throw new DamagedFileError(
          `${path} holds ${describeShape(shape, dtype)}, not a float32 matrix: give a folder written by emb embed image or emb embed text`,
        );
      }
      const dataStart = head[6] === 1 ? 10 + head.readUInt16LE(8) : 12 + head.readUInt32LE(8);
      const bodyRows = Math.floor((size - dataStart) / (shape[1] * 4));
      return new NpyRowReader(fd, dataStart, Math.min(shape[0], bodyRows), shape[1], shape[0], size);
    } catch (error) {
      closeSync(fd);
      throw error;
    }
  }

  /** The error for a body shorter than the header counts (undefined when every row is there). */
  shortfall(path: string, fix?: string): DamagedFileError | undefined {
    if (this.rows >= this.headerRows) return undefined;
    const expected = this.dataStart + this.headerRows * this.dim * 4;
    return cutShortError(
      path,
      `header says ${describeShape([this.headerRows, this.dim], "float32")}, ${expected} bytes with the header; the file holds only ${this.bytes} bytes`,
      fix,
    );
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
