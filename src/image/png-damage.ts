/**
 * The damaged PNGs PIL refuses, found by walking the chunks as PngImagePlugin (Pillow 11.3)
 * does. libpng reads many of them (a cut-short chunk after the image data, a bad checksum on an
 * ancillary chunk, APNG chunks out of order), so without this emb would embed a file the Python
 * reference cannot open.
 *
 * PIL reads a PNG in three steps, each with its own strictness, followed here:
 * - opening: every chunk up to the first IDAT (or fdAT) is read whole, checksummed and parsed;
 *   any flaw refuses the file;
 * - the image data: consecutive IDAT/fdAT chunks; what is missing there is left to the decoder,
 *   which refuses incomplete image data as PIL does;
 * - after it, up to IEND (or the next frame's fcTL in an animation): checksums are not read, a
 *   cut-short chunk header ends the walk quietly, but a chunk whose data is cut short, or that
 *   its parser rejects, refuses the file.
 * Compression methods and decompression limits of iCCP, zTXt and iTXt are png-chunks.ts's.
 */
import { constants, crc32, createInflate } from "node:zlib";

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
/** PIL's `is_cid`: four ASCII word characters. */
const CHUNK_TYPE = /^[A-Za-z0-9_]{4}$/;
/** PIL's mode per (bit depth, colour type), where tRNS parsing depends on it. */
const TRNS_BYTES: Record<string, number> = { "1,0": 2, "2,0": 2, "4,0": 2, "8,0": 2, "16,0": 2, "8,2": 6, "16,2": 6 };

interface Walk {
  width: number;
  height: number;
  /** Bytes a tRNS chunk needs for this image's mode (PIL unpacks 16-bit values); 0: any. */
  trnsBytes: number;
  sequence: number | undefined;
  frames: number | undefined;
  /** An fcTL came before the image data, so it is the animation's first frame. */
  framed: boolean;
}

/** PIL's reason for refusing a damaged PNG, or undefined where PIL reads it (or it is no PNG). */
export async function pngDamage(png: Buffer): Promise<string | undefined> {
  if (png.length < SIGNATURE.length || !png.subarray(0, SIGNATURE.length).equals(SIGNATURE)) return undefined;
  const walk: Walk = { width: 0, height: 0, trnsBytes: 0, sequence: undefined, frames: undefined, framed: false };

  // opening: up to the image data, everything whole and checksummed
  let pos = SIGNATURE.length;
  let type: string;
  for (;;) {
    if (pos + 8 > png.length) return "a chunk header is cut short before the image data";
    type = png.toString("latin1", pos + 4, pos + 8);
    const length = png.readUInt32BE(pos);
    if (!CHUNK_TYPE.test(type)) return `broken chunk type ${JSON.stringify(type)} before the image data`;
    if (type === "IDAT" || type === "IEND") break;
    const data = png.subarray(pos + 8, pos + 8 + length);
    if (type === "fdAT") {
      // PIL reads only the sequence number here; the frame data is the decoder's
      const reason = fdat(walk, data, length);
      if (reason) return reason;
      break;
    }
    if (data.length < length) return `its ${type} chunk is cut short`;
    const reason = parse(walk, type, data);
    if (reason) return reason;
    const end = pos + 8 + length;
    if (end + 4 > png.length) return `the checksum of its ${type} chunk is cut short`;
    if (png.readUInt32BE(end) !== crc32(data, crc32(png.subarray(pos + 4, pos + 8)))) return `bad checksum in its ${type} chunk`;
    pos = end + 4;
  }
  if (type === "IEND") return "no image data before IEND";
  const animated = (walk.frames ?? 1) + (walk.frames !== undefined && !walk.framed ? 1 : 0) > 1;

  // the image data, read while the decoder needs it (its own errors are the decoder's)
  const run: Buffer[] = [];
  for (let first = true; pos + 8 <= png.length; first = false) {
    const chunk = png.toString("latin1", pos + 4, pos + 8);
    if (chunk !== "IDAT" && chunk !== "DDAT" && chunk !== "fdAT") break;
    const length = png.readUInt32BE(pos);
    const data = png.subarray(pos + 8, pos + 8 + length);
    if (data.length < length) {
      // PIL reads a cut-short chunk as far as it goes, unless the image was whole before it
      return run.length > 0 && (await imageComplete(png, run)) ? `its ${chunk} chunk after the image data is cut short` : undefined;
    }
    if (chunk === "fdAT" && !(first && type === "fdAT")) {
      const reason = fdat(walk, data, length);
      if (reason) return reason;
    }
    run.push(chunk === "fdAT" ? data.subarray(4) : data);
    pos += 12 + length;
  }

  // after the image data: no checksums, a cut-short header ends quietly, cut-short data does not
  while (pos + 8 <= png.length) {
    const chunk = png.toString("latin1", pos + 4, pos + 8);
    const length = png.readUInt32BE(pos);
    if (!CHUNK_TYPE.test(chunk) || chunk === "IEND" || (chunk === "fcTL" && animated)) return undefined;
    const data = png.subarray(pos + 8, pos + 8 + length);
    if (data.length < length) return `its ${chunk} chunk after the image data is cut short`;
    const reason = chunk === "fdAT" ? fdat(walk, data, length) : parse(walk, chunk, data);
    if (reason) return reason;
    pos += 12 + length;
  }
  return undefined;
}

/** What PIL's chunk parser for `type` raises on, if anything (chunks it does not know: nothing). */
function parse(walk: Walk, type: string, data: Buffer): string | undefined {
  switch (type) {
    case "IHDR":
      if (data.length < 13) return "truncated IHDR chunk";
      walk.width = data.readUInt32BE(0);
      walk.height = data.readUInt32BE(4);
      walk.trnsBytes = TRNS_BYTES[`${data[8]},${data[9]}`] ?? 0;
      return data[11] !== 0 ? "unknown filter category in IHDR" : undefined;
    case "iCCP": {
      // PIL reads the compression method after the name's NUL (from index 0 without one)
      const nul = data.indexOf(0);
      return nul + 1 >= data.length ? "its iCCP chunk (ICC profile) ends before its compression method" : undefined;
    }
    case "tRNS":
      return data.length < walk.trnsBytes ? `its tRNS chunk has ${data.length} bytes, too few for this image's colour type` : undefined;
    case "gAMA":
      return data.length < 4 ? "truncated gAMA chunk" : undefined;
    case "cHRM":
      return data.length % 4 !== 0 ? "its cHRM chunk is not a whole number of 4-byte values" : undefined;
    case "sRGB":
      return data.length < 1 ? "truncated sRGB chunk" : undefined;
    case "pHYs":
      return data.length < 9 ? "truncated pHYs chunk" : undefined;
    case "acTL":
      if (data.length < 8) return "APNG contains truncated acTL chunk";
      if (walk.frames !== undefined)
        walk.frames = undefined; // a second acTL: PIL falls back to the still image
      else {
        const frames = data.readUInt32BE(0);
        if (frames !== 0 && frames <= 0x80000000) walk.frames = frames;
      }
      return undefined;
    case "fcTL": {
      if (data.length < 26) return "APNG contains truncated fcTL chunk";
      const sequence = data.readUInt32BE(0);
      if (walk.sequence === undefined ? sequence !== 0 : sequence !== walk.sequence + 1) return "APNG contains frame sequence errors";
      walk.sequence = sequence;
      if (data.readUInt32BE(12) + data.readUInt32BE(4) > walk.width || data.readUInt32BE(16) + data.readUInt32BE(8) > walk.height) {
        return "APNG contains invalid frames";
      }
      walk.framed = true;
      return undefined;
    }
    default:
      return undefined;
  }
}

function fdat(walk: Walk, data: Buffer, length: number): string | undefined {
  if (length < 4) return "APNG contains truncated fdAT chunk";
  if (data.length < 4) return "its fdAT chunk is cut short";
  const sequence = data.readUInt32BE(0);
  if (walk.sequence === undefined || sequence !== walk.sequence + 1) return "APNG contains frame sequence errors";
  walk.sequence = sequence;
  return undefined;
}

/**
 * Whether the image data in `run` already holds every row, so PIL's decoder stops before the
 * next chunk and reads that one strictly. Only asked of damaged files; the rows are counted as
 * they inflate, never held, so a bomb costs time, not memory.
 */
async function imageComplete(png: Buffer, run: Buffer[]): Promise<boolean> {
  if (png.length < 29 || png.toString("latin1", 12, 16) !== "IHDR") return false;
  const [width, height, bits, colour, interlace] = [png.readUInt32BE(16), png.readUInt32BE(20), png[24], png[25], png[28]];
  const channels = ({ 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 } as Record<number, number>)[colour] ?? 1;
  const rows = (w: number, h: number) => (w > 0 && h > 0 ? h * (1 + Math.ceil((w * channels * bits) / 8)) : 0);
  let needed = 0;
  for (const [x0, y0, dx, dy] of interlace ? ADAM7 : [[0, 0, 1, 1]]) needed += rows(Math.ceil((width - x0) / dx), Math.ceil((height - y0) / dy));
  return new Promise((resolve) => {
    let total = 0;
    // Z_SYNC_FLUSH: a stream cut short gives what it holds, as PIL's decoder sees it
    const inflate = createInflate({ finishFlush: constants.Z_SYNC_FLUSH });
    inflate.on("data", (chunk: Buffer) => {
      total += chunk.length;
      if (total >= needed) {
        inflate.destroy();
        resolve(true);
      }
    });
    inflate.on("error", () => resolve(total >= needed));
    inflate.on("end", () => resolve(total >= needed));
    inflate.end(Buffer.concat(run));
  });
}

/** Adam7 passes: x offset, y offset, x step, y step. */
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
];
