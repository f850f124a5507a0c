import { copyFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { pythonLower } from "../../src/models/common/padded-tokenizer.js";
import { loadSiglip2Tokenizer } from "../../src/models/siglip2/tokenizer.js";
import { fixturePath, readJson } from "../helpers/fixtures.js";

interface Expected {
  input_ids: number[];
  truncated: boolean;
}
interface Golden {
  text_length: number;
  special_ids: { pad: number; eos: number; bos: number; unk: number };
  python_lower: Record<string, string>;
  captions: { text: string; lowercased: Expected; as_is: Expected; lowercased_without_flags?: Expected; lowercased_padding_left?: { input_ids: number[] } }[];
}

const golden = readJson<Golden>("goldens", "siglip2", "tokenizer.json");
const folder = fixturePath("siglip2-tokenizer");
const label = (text: string) => JSON.stringify(text).slice(0, 48);
const cases = golden.captions.map((c, i) => ({ label: `${i} ${label(c.text)}`, ...c }));

describe("SigLIP 2 tokenizer", () => {
  const lowercased = loadSiglip2Tokenizer(folder, { length: golden.text_length });
  const asIs = loadSiglip2Tokenizer(folder, { length: golden.text_length, lowercase: false });

  it("reads SigLIP 2's special tokens: no <bos>, <eos> last, <pad> padding", () => {
    expect(lowercased.bosId).toBeUndefined();
    expect(lowercased.eosId).toBe(golden.special_ids.eos);
    expect(lowercased.padId).toBe(golden.special_ids.pad);
    expect(golden.captions.length).toBeGreaterThan(300);
    expect(golden.captions.filter((c) => c.lowercased.truncated).length).toBeGreaterThan(20);
  });

  it.each(cases)("$label gives transformers' ids, lowercased and as is", ({ text, lowercased: lower, as_is }) => {
    expect(lowercased.encode(text)).toEqual({ ids: lower.input_ids, truncated: lower.truncated });
    expect(asIs.encode(text)).toEqual({ ids: as_is.input_ids, truncated: as_is.truncated });
  });

  it("lowercases every code point as Python's str.lower() does", () => {
    const differing: string[] = [];
    for (let cp = 0; cp <= 0x10ffff; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const c = String.fromCodePoint(cp);
      const expected = golden.python_lower[cp.toString(16).toUpperCase().padStart(4, "0")] ?? c;
      if (pythonLower(c) !== expected) differing.push(cp.toString(16));
    }
    expect(differing).toEqual([]);
  });

  it("applies the final-sigma rule as Python does", () => {
    expect(pythonLower("ΟΔΟΣ ΣΑΣ Σ AΣ. AΣ\u0301B")).toBe("οδος σας σ aς. aσ\u0301b");
    // Cased only in Unicode 16: Python leaves it, and it ends the word before it.
    expect(pythonLower("AΣ\uA7CB")).toBe("aς\uA7CB");
  });
});

describe("SigLIP 2 tokenizer files", () => {
  const dir = mkdtempSync(join(tmpdir(), "emb-siglip2-tokenizer-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("adds <bos> and no <eos>, as GemmaTokenizerFast does, when tokenizer_config.json lacks add_bos_token/add_eos_token", () => {
    const flagless = join(dir, "flagless");
    cpSync(folder, flagless, { recursive: true });
    const config = JSON.parse(readFileSync(join(flagless, "tokenizer_config.json"), "utf8"));
    delete config.add_bos_token;
    delete config.add_eos_token;
    writeFileSync(join(flagless, "tokenizer_config.json"), JSON.stringify(config));
    const tokenizer = loadSiglip2Tokenizer(flagless);
    const rows = golden.captions.filter((c) => c.lowercased_without_flags);
    expect(rows.length).toBeGreaterThan(50);
    for (const { text, lowercased_without_flags: expected } of rows) {
      expect(tokenizer.encode(text), label(text)).toEqual({ ids: expected?.input_ids, truncated: expected?.truncated });
    }
  });

  it("pads before the caption where tokenizer_config.json says padding_side left, as GemmaTokenizerFast does", () => {
    const left = join(dir, "left");
    cpSync(folder, left, { recursive: true });
    const config = JSON.parse(readFileSync(join(left, "tokenizer_config.json"), "utf8"));
    writeFileSync(join(left, "tokenizer_config.json"), JSON.stringify({ ...config, padding_side: "left" }));
    const tokenizer = loadSiglip2Tokenizer(left);
    const rows = golden.captions.filter((c) => c.lowercased_padding_left);
    expect(rows.length).toBeGreaterThan(50);
    for (const { text, lowercased_padding_left: expected } of rows) expect(tokenizer.encode(text).ids, label(text)).toEqual(expected?.input_ids);
    writeFileSync(join(left, "tokenizer_config.json"), JSON.stringify({ ...config, padding_side: "middle" }));
    expect(() => loadSiglip2Tokenizer(left)).toThrow('gives padding_side "middle"; transformers takes "right" or "left"');
  });

  it("refuses a folder with only tokenizer.model, saying what is needed", () => {
    copyFileSync(join(folder, "tokenizer.model"), join(dir, "tokenizer.model"));
    expect(() => loadSiglip2Tokenizer(dir)).toThrow(`${dir} has only tokenizer.model (SentencePiece): SigLIP 2 needs tokenizer.json`);
  });
});
