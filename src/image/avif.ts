/**
 * AVIF image sequences (major brand "avis"), which PIL reads (libavif: the first frame) and
 * libheif refuses by their brand. libavif, so Pillow and avifenc, writes the first frame also as
 * the file's still image (primary item) and lists the "avif" brand for it; for such a file the
 * major brand is set to "avif" in a copy, and libheif reads that still image. A sequence without
 * the "avif" brand is left as it is, for decode.ts to refuse with a reason.
 */

/** The brands of the leading ftyp box: [major, ...compatible], or undefined. */
function brands(input: Buffer): string[] | undefined {
  if (input.length < 16 || input.toString("latin1", 4, 8) !== "ftyp") return undefined;
  const size = input.readUInt32BE(0);
  if (size < 16 || size > input.length || size % 4 !== 0) return undefined;
  const out = [input.toString("latin1", 8, 12)];
  for (let at = 16; at + 4 <= size; at += 4) out.push(input.toString("latin1", at, at + 4));
  return out;
}

export function isAvifSequence(input: Buffer): boolean {
  return brands(input)?.[0] === "avis";
}

/** The input, or for an AVIF sequence with a still image, a copy that libheif reads as a still. */
export function avifStill(input: Buffer): Buffer {
  const found = brands(input);
  if (found?.[0] !== "avis" || !found.slice(1).includes("avif")) return input;
  const copy = Buffer.from(input);
  copy.write("avif", 8, "latin1");
  return copy;
}
