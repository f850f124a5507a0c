import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseModelProto, SentencePieceProcessor } from "../../src/models/common/sentencepiece.js";
import { SiglipTokenizer } from "../../src/models/siglip/tokenizer.js";
import { fixturePath, readJson } from "../helpers/fixtures.js";

interface Expected {
  input_ids: number[];
  tokens: string[];
  truncated: boolean;
}
interface Golden {
  text_length: number;
  variants: { name: string; source: string; files: string[] }[];
  captions: ({ text: string } & Record<string, Expected>)[];
}

const golden = readJson<Golden>("goldens", "siglip", "tokenizer-variants.json");
const label = (text: string) => JSON.stringify(text).slice(0, 48);

describe.each(golden.variants)("SigLIP tokenizer folder $name", (variant) => {
  const tokenizer = SiglipTokenizer.load(fixturePath("siglip-tokenizers", variant.name), golden.text_length);
  const cases = golden.captions.map((c) => ({ label: label(c.text), text: c.text, expected: c[variant.source] }));

  it("reads spiece.model whenever the folder has one", () => {
    expect(tokenizer.source).toBe(variant.files.includes("spiece.model") ? "spiece.model" : "tokenizer.json");
  });

  it.each(cases)("$label gives Python's ids", ({ text, expected }) => {
    expect(tokenizer.tokenize(text)).toEqual(expected.tokens);
    const encoded = tokenizer.encode(text);
    expect(encoded.ids).toEqual(expected.input_ids);
    expect(encoded.truncated).toBe(expected.truncated);
  });
});

describe("SigLIP tokenizer files", () => {
  const empty = mkdtempSync(join(tmpdir(), "emb-no-tokenizer-"));
  afterAll(() => rmSync(empty, { recursive: true, force: true }));

  it("names the folder and the files looked for when there is no tokenizer", () => {
    writeFileSync(join(empty, "tokenizer_config.json"), "{}");
    expect(() => SiglipTokenizer.load(empty)).toThrow(`${empty} has no SigLIP tokenizer: looked for spiece.model (SentencePiece) and tokenizer.json`);
  });

  it("refuses a tokenizer.json that is not a SentencePiece unigram model", () => {
    const dir = mkdtempSync(join(tmpdir(), "emb-bpe-tokenizer-"));
    writeFileSync(join(dir, "tokenizer.json"), JSON.stringify({ model: { type: "BPE", vocab: {}, merges: [] } }));
    expect(() => SiglipTokenizer.load(dir)).toThrow(/tokenizer\.json is not a usable SigLIP tokenizer: .* has no Unigram model \(found BPE\)/);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe("SentencePiece encoding of the crafted model", () => {
  const spm = new SentencePieceProcessor(parseModelProto(new Uint8Array(readFileSync(fixturePath("siglip-tokenizers", "crafted-spiece", "spiece.model")))));
  const probes = readJson<{ crafted_probes: { text: string; pieces: string[] }[] }>("goldens", "siglip", "tokenizer-variants.json").crafted_probes;

  it.each(probes)("$text gives SentencePiece's pieces", ({ text, pieces }) => {
    expect(spm.encodeAsPieces(text)).toEqual(pieces);
  });
});
