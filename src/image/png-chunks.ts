/**
 * PIL's limits on a PNG's compressed chunks, checked before any decoder sees the file: a zTXt,
 * iTXt or iCCP chunk of a few hundred KB can unpack to gigabytes (a decompression bomb), which
 * the decoder or the orientation lookup would otherwise unpack.
 *
 * What PngImagePlugin (Pillow 11.3) refuses, this refuses, with one sentence:
 * - a compressed zTXt, iTXt or iCCP chunk that unpacks to more than MAX_TEXT_CHUNK (1 MiB;
 *   `_safe_zlib_decompress` raises "Decompressed data too large");
 * - text chunks (tEXt, zTXt, iTXt) holding more than MAX_TEXT_MEMORY (64 MiB) of text in all
 *   ("Too much memory used in text chunks"), counted as PIL counts: characters of the text whose
 *   keyword is not empty, iTXt only when it is valid UTF-8;
 * - a zTXt or iCCP chunk naming a compression method other than 0 (PIL raises SyntaxError).
 * Data zlib cannot unpack is skipped, as PIL skips it; chunk structure that is damaged or cut
 * short is left to the decoder. PIL stops at the second frame of an animated PNG; this reads on
 * to IEND, since the orientation lookup does.
 *
 * Only chunk headers are read, and each compressed chunk is unpacked to at most 1 MiB.
 */
import { isUtf8 } from "node:buffer";
import { constants, inflateSync } from "node:zlib";

/** PngImagePlugin.MAX_TEXT_CHUNK (ImageFile.SAFEBLOCK): the most one compressed chunk may unpack to. */
export const MAX_TEXT_CHUNK = 1024 * 1024;
/** PngImagePlugin.MAX_TEXT_MEMORY: the most text all text chunks may hold together. */
export const MAX_TEXT_MEMORY = 64 * MAX_TEXT_CHUNK;

export class PngChunkError extends Error {
  constructor(
    message: string,
    readonly reason: "too-large" | "unreadable",
  ) {
    super(message);
    this.name = "PngChunkError";
  }
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
/** PIL's chunk type check: four word characters; anything else ends its walk. */
const CHUNK_TYPE = /^\w{4}$/;

/** Throws a PngChunkError for a PNG that PIL refuses for its compressed chunks; anything else passes. */
export function checkPngChunks(png: Buffer): void {
  if (png.length < SIGNATURE.length || !png.subarray(0, SIGNATURE.length).equals(SIGNATURE)) return;
  let textMemory = 0;
  for (let pos = SIGNATURE.length; pos + 8 <= png.length; ) {
    const length = png.readUInt32BE(pos);
    const type = png.toString("latin1", pos + 4, pos + 8);
    if (!CHUNK_TYPE.test(type) || type === "IEND" || pos + 8 + length > png.length) return;
    const data = png.subarray(pos + 8, pos + 8 + length);
    pos += 12 + length;
    if (type === "tEXt") textMemory += textChunk(data);
    else if (type === "zTXt") textMemory += zTxtChunk(data);
    else if (type === "iTXt") textMemory += iTxtChunk(data);
    else if (type === "iCCP") iccpChunk(data);
    if (textMemory > MAX_TEXT_MEMORY) {
      throw new PngChunkError(
        `its text chunks hold more than ${MAX_TEXT_MEMORY / 2 ** 20} MiB of text in all, the most PIL reads (a decompression bomb guard): PIL refuses this PNG too`,
        "too-large",
      );
    }
  }
}

/** The keyword and what follows its NUL (PIL: `s.split(b"\0", 1)`, the whole chunk as keyword without one). */
function keywordAndRest(data: Buffer): [Buffer, Buffer] {
  const nul = data.indexOf(0);
  return nul < 0 ? [data, data.subarray(data.length)] : [data.subarray(0, nul), data.subarray(nul + 1)];
}

function textChunk(data: Buffer): number {
  const [keyword, text] = keywordAndRest(data);
  return keyword.length > 0 ? text.length : 0; // latin-1: a character per byte
}

function zTxtChunk(data: Buffer): number {
  const [keyword, rest] = keywordAndRest(data);
  const what = `zTXt text chunk "${shown(keyword)}"`;
  const method = rest.length > 0 ? rest[0] : 0;
  if (method !== 0) throw unknownMethod(what, method);
  const text = unpack(rest.subarray(1), what);
  return keyword.length > 0 && text ? text.length : 0;
}

function iTxtChunk(data: Buffer): number {
  const nul = data.indexOf(0);
  if (nul < 0 || data.length - nul - 1 < 2) return 0;
  const keyword = data.subarray(0, nul);
  const compressed = data[nul + 1] !== 0;
  const method = data[nul + 2];
  // language tag NUL translated keyword NUL text
  const rest = data.subarray(nul + 3);
  const language = rest.indexOf(0);
  const translated = language < 0 ? -1 : rest.indexOf(0, language + 1);
  if (translated < 0) return 0;
  let text: Buffer | undefined = rest.subarray(translated + 1);
  if (compressed) {
    if (method !== 0) return 0; // PIL skips a chunk with an unknown method
    text = unpack(text, `iTXt text chunk "${shown(keyword)}"`);
    if (!text) return 0;
  }
  if (!isUtf8(rest.subarray(0, language)) || !isUtf8(rest.subarray(language + 1, translated)) || !isUtf8(text)) return 0;
  return characters(text);
}

function iccpChunk(data: Buffer): void {
  const nul = data.indexOf(0); // PIL reads on from index -1 + 1 without one
  if (nul + 1 >= data.length) return;
  const what = "ICC profile (iCCP chunk)";
  if (data[nul + 1] !== 0) throw unknownMethod(what, data[nul + 1]);
  unpack(data.subarray(nul + 2), what);
}

/** PIL's `_safe_zlib_decompress`: at most MAX_TEXT_CHUNK bytes; undefined where zlib fails, which PIL skips. */
function unpack(data: Buffer, what: string): Buffer | undefined {
  try {
    // Z_SYNC_FLUSH: a stream cut short gives what it holds, as Python's decompressobj does.
    return inflateSync(data, { maxOutputLength: MAX_TEXT_CHUNK, finishFlush: constants.Z_SYNC_FLUSH });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ERR_BUFFER_TOO_LARGE") return undefined;
    throw new PngChunkError(
      `its ${what} unpacks to more than ${MAX_TEXT_CHUNK / 2 ** 20} MiB, the most PIL unpacks from one chunk (a decompression bomb guard): PIL refuses this PNG too`,
      "too-large",
    );
  }
}

function unknownMethod(what: string, method: number): PngChunkError {
  return new PngChunkError(`its ${what} names compression method ${method}, which PNG does not define: PIL cannot read this PNG either`, "unreadable");
}

/** Python's len() of valid UTF-8: the bytes that start a character. */
function characters(utf8: Buffer): number {
  let count = 0;
  for (let i = 0; i < utf8.length; i++) if ((utf8[i] & 0xc0) !== 0x80) count++;
  return count;
}

function shown(keyword: Buffer): string {
  return keyword.toString("latin1", 0, Math.min(keyword.length, 79));
}
