/**
 * CLIP's tokenizer against transformers' CLIPTokenizerFast (goldens from
 * tools/reference/clip_tiny.py): the real 49,408-token vocabulary, built from OpenAI's merges,
 * on 535 fuzzed captions (case, accents, combining marks, emoji sequences, CJK, contractions,
 * URLs, special-token text, over 77 tokens, empty), and the tiny fixture's own tokenizer.
 */
import { describe, expect, it } from "vitest";
import { loadClipTokenizer } from "../../src/models/clip/tokenizer.js";
import { fixturePath, readJson } from "../helpers/fixtures.js";

interface Caption {
  text: string;
  input_ids: number[];
}

describe("CLIP tokenizer", () => {
  it("gives transformers' ids for every fuzzed caption with the real vocabulary", () => {
    const golden = readJson<{ text_length: number; special_ids: { bos: number; eos: number; pad: number }; captions: Caption[] }>(
      "goldens",
      "clip",
      "tokenizer.json",
    );
    const tokenizer = loadClipTokenizer(fixturePath("clip-tokenizer"), golden.text_length);
    expect([tokenizer.bosId, tokenizer.eosId, tokenizer.padId]).toEqual([golden.special_ids.bos, golden.special_ids.eos, golden.special_ids.pad]);
    expect(golden.captions.length).toBeGreaterThan(500);
    const wrong = golden.captions.filter((c) => JSON.stringify(tokenizer.encode(c.text).ids) !== JSON.stringify(c.input_ids));
    expect(wrong.map((c) => c.text)).toEqual([]);
    // a hand-checked one: OpenAI's published ids for this caption
    expect(tokenizer.encode("a photo of a cat").ids.slice(0, 7)).toEqual([49406, 320, 1125, 539, 320, 2368, 49407]);
  });

  it("marks the captions that lost their tail, keeping <|endoftext|> last", () => {
    const tokenizer = loadClipTokenizer(fixturePath("clip-tokenizer"));
    const long = tokenizer.encode("a very long caption ".repeat(40));
    expect(long.truncated).toBe(true);
    expect(long.ids).toHaveLength(77);
    expect(long.ids.at(-1)).toBe(49407);
    expect(tokenizer.encode("short").truncated).toBe(false);
  });

  it("gives the tiny fixture's tokenizer's ids and attention span", () => {
    const golden = readJson<{ captions: (Caption & { attention_mask: number[] })[] }>("goldens", "clip", "goldens.json");
    const tokenizer = loadClipTokenizer(fixturePath("clip-tiny"));
    for (const c of golden.captions) {
      const { ids } = tokenizer.encode(c.text);
      expect(ids, c.text).toEqual(c.input_ids);
      // the mask the text tower feeds: 1 through the first <|endoftext|>
      expect(ids.indexOf(tokenizer.eosId as number, 1) + 1, c.text).toBe(c.attention_mask.filter((m) => m === 1).length);
    }
  });

  it("names the missing file and how to write it", () => {
    expect(() => loadClipTokenizer(fixturePath("dinov2-tiny"))).toThrow("has no tokenizer.json: CLIP needs it");
  });
});
