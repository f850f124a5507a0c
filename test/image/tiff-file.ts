/** Uncompressed little-endian TIFFs for tests, one strip: what make_photos.py's tiff_file writes. */

/** `tags`: tag -> [type (3 SHORT, 4 LONG), values]; strip offset and byte count are filled in. */
export function tiffFile(width: number, height: number, tags: Record<number, [3 | 4, number[]]>, strip: Uint8Array): Buffer {
  const all: Record<number, [3 | 4, number[]]> = { ...tags, 256: [4, [width]], 257: [4, [height]], 273: [4, [0]], 279: [4, [strip.length]] };
  const order = Object.keys(all)
    .map(Number)
    .sort((a, b) => a - b);
  const ifdEnd = 8 + 2 + 12 * order.length + 4;
  const extra: Buffer[] = [];
  let extraLength = 0;
  const entries = Buffer.alloc(12 * order.length);
  const values = (type: 3 | 4, vals: number[]) => {
    const b = Buffer.alloc(vals.length * (type === 3 ? 2 : 4));
    vals.forEach((v, i) => (type === 3 ? b.writeUInt16LE(v, i * 2) : b.writeUInt32LE(v, i * 4)));
    return b;
  };
  const outOfLine = order.reduce((n, tag) => n + (values(...all[tag]).length > 4 ? values(...all[tag]).length : 0), 0);
  all[273] = [4, [ifdEnd + outOfLine]];
  order.forEach((tag, i) => {
    const [type, vals] = all[tag];
    const data = values(type, vals);
    entries.writeUInt16LE(tag, i * 12);
    entries.writeUInt16LE(type, i * 12 + 2);
    entries.writeUInt32LE(vals.length, i * 12 + 4);
    if (data.length <= 4) data.copy(entries, i * 12 + 8);
    else {
      entries.writeUInt32LE(ifdEnd + extraLength, i * 12 + 8);
      extra.push(data);
      extraLength += data.length;
    }
  });
  const head = Buffer.alloc(10);
  head.write("II*\0", 0, "latin1");
  head.writeUInt32LE(8, 4);
  head.writeUInt16LE(order.length, 8);
  return Buffer.concat([head, entries, Buffer.alloc(4), ...extra, strip]);
}
