import { describe, expect, it } from "vitest";
import { SiglipTokenizer } from "../../src/models/siglip/tokenizer.js";
import { fixturePath, readJson } from "../helpers/fixtures.js";

const golden = readJson("goldens", "siglip", "goldens.json");
const tokenizer = SiglipTokenizer.load(fixturePath("siglip-tiny"));

interface GoldenCaption {
  text: string;
  input_ids: number[];
  truncated: boolean;
}
const captions: (GoldenCaption & { label: string })[] = golden.captions.map((c: GoldenCaption) => ({
  ...c,
  label: JSON.stringify(c.text).slice(0, 40),
}));

describe("SiglipTokenizer", () => {
  it.each(captions)("$label gives Python's ids, padded to 64", (caption) => {
    const encoded = tokenizer.encode(caption.text);
    expect(encoded.ids).toEqual(caption.input_ids);
    expect(encoded.truncated).toBe(caption.truncated);
  });

  it("canonicalises as SiglipTokenizer does: lowercase, ASCII punctuation out, whitespace collapsed", () => {
    expect(SiglipTokenizer.canonicalize("  Hello,\t\tWORLD!!  It's — «fine»\u3000ok ")).toBe("hello world its — «fine» ok");
  });
});

describe("a caption of a megabyte", () => {
  it("is truncated to the first 64 ids of its start, not a stack overflow", () => {
    const long = tokenizer.encode("a photo of a cat ".repeat(60_000));
    const start = tokenizer.encode("a photo of a cat ".repeat(40));
    expect(start.truncated).toBe(true);
    expect(long).toEqual(start);
  });
});
