/** Hand-built PNGs for the chunk tests: an 8-bit RGB image with the ancillary chunks a test puts around its IDAT. */
import { crc32, deflateSync } from "node:zlib";

export function pngChunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, "latin1");
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(data, crc32(head.subarray(4))) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}

/** A `width` x `height` RGB PNG with a gradient, `before` its IDAT and `after` it (before IEND). */
export function rgbPng(width: number, height: number, chunks: { before?: Buffer[]; after?: Buffer[] } = {}): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit, truecolour, deflate, no filter, not interlaced
  const rows = Buffer.alloc(height * (1 + width * 3));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) rows.set([(x * 255) / width, (y * 255) / height, 128], y * (1 + width * 3) + 1 + x * 3);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk("IHDR", ihdr),
    ...(chunks.before ?? []),
    pngChunk("IDAT", deflateSync(rows)),
    ...(chunks.after ?? []),
    pngChunk("IEND", Buffer.alloc(0)),
  ]);
}

const nul = Buffer.alloc(1);

export const tEXt = (keyword: string, text: string | Buffer) => pngChunk("tEXt", Buffer.concat([Buffer.from(keyword, "latin1"), nul, Buffer.from(text)]));

/** A zTXt chunk; `packed` is the compressed text as stored (default: `text` deflated). */
export function zTXt(keyword: string, text: string | Buffer, options: { method?: number; packed?: Buffer } = {}): Buffer {
  const packed = options.packed ?? deflateSync(Buffer.from(text));
  return pngChunk("zTXt", Buffer.concat([Buffer.from(keyword, "latin1"), nul, Buffer.from([options.method ?? 0]), packed]));
}

export function iTXt(keyword: string, text: string | Buffer, options: { compressed?: boolean; method?: number; packed?: Buffer } = {}): Buffer {
  const body = options.packed ?? (options.compressed ? deflateSync(Buffer.from(text)) : Buffer.from(text));
  const flags = Buffer.from([options.compressed || options.packed ? 1 : 0, options.method ?? 0]);
  return pngChunk("iTXt", Buffer.concat([Buffer.from(keyword, "latin1"), nul, flags, Buffer.from("en"), nul, nul, body]));
}

export function iCCP(name: string, profile: Buffer, options: { method?: number; packed?: Buffer } = {}): Buffer {
  const packed = options.packed ?? deflateSync(profile);
  return pngChunk("iCCP", Buffer.concat([Buffer.from(name, "latin1"), nul, Buffer.from([options.method ?? 0]), packed]));
}

/** `bytes` zeros deflated at level 9: about a thousandth of their size, a decompression bomb. */
export function zeroBomb(bytes: number): Buffer {
  return deflateSync(Buffer.alloc(bytes), { level: 9 });
}
