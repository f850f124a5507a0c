/**
 * Damaged PNGs are refused where PIL refuses them, never decoded to something: every cut of a
 * few small PNGs and one-byte changes to each chunk header, checksum and first data byte, with
 * PIL's verdict per case (test/fixtures/goldens/photos/png_damage.json, written by
 * tools/reference/make_photos.py, which enumerates the cases as damageCases below).
 */
import { describe, expect, it } from "vitest";
import { decodeImage } from "../../src/image/decode.js";
import { pngDamage } from "../../src/image/png-damage.js";
import { readJson } from "../helpers/fixtures.js";

const corpus = readJson<{ bases: Record<string, string>; cut: Record<string, string>; set: Record<string, string> }>("goldens", "photos", "png_damage.json");

/** make_photos.py's damage_cases: cuts, then byte changes in chunk order. */
function damageCases(base: Buffer): { cuts: Buffer[]; sets: Buffer[] } {
  const cuts: Buffer[] = [];
  for (let at = 8; at < base.length; at++) cuts.push(base.subarray(0, at));
  const positions = new Set<number>();
  for (let pos = 8; pos + 8 <= base.length; ) {
    const n = base.readUInt32BE(pos);
    for (let p = pos; p < pos + 8; p++) positions.add(p);
    for (const p of [...(n ? [pos + 8] : []), pos + 8 + n, pos + 9 + n, pos + 10 + n, pos + 11 + n]) if (p < base.length) positions.add(p);
    pos += 12 + n;
  }
  const sets: Buffer[] = [];
  for (const p of [...positions].sort((a, b) => a - b)) {
    for (const v of new Set([0, 1, 255, base[p] ^ 0x20])) {
      if (v === base[p]) continue;
      const changed = Buffer.from(base);
      changed[p] = v;
      sets.push(changed);
    }
  }
  return { cuts, sets };
}

async function decodes(png: Buffer): Promise<boolean> {
  return decodeImage(png).then(
    () => true,
    () => false,
  );
}

describe.each(Object.keys(corpus.bases))("damaged %s PNGs", (name) => {
  const { cuts, sets } = damageCases(Buffer.from(corpus.bases[name], "hex"));
  const cases = [...cuts, ...sets];
  const pilReads = [...(corpus.cut[name] + corpus.set[name])].map((c) => c === "1");

  it("enumerates the cases make_photos.py judged with PIL", () => {
    expect([cuts.length, sets.length]).toEqual([corpus.cut[name].length, corpus.set[name].length]);
  });

  it("never calls damaged what PIL reads", async () => {
    const wrong: number[] = [];
    for (let i = 0; i < cases.length; i++) if (pilReads[i] && (await pngDamage(cases[i]))) wrong.push(i);
    expect(wrong).toEqual([]);
  });

  it("refuses every case PIL refuses", async () => {
    const decoded: number[] = [];
    for (let i = 0; i < cases.length; i++) if (!pilReads[i] && (await decodes(cases[i]))) decoded.push(i);
    expect(decoded).toEqual([]);
  });
});
