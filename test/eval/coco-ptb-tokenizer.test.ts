import { describe, expect, it } from "vitest";
import { PTB_PUNCTUATIONS, ptbLexLine, ptbTokenize, tokenizeCaptions } from "../../src/eval/coco/ptb-tokenizer.js";
import type { ImageId } from "../../src/eval/coco/types.js";
import { readJson } from "../helpers/fixtures.js";

interface CocoCaptions {
  images: { id: number }[];
  annotations: { id: number; image_id: number; caption: string }[];
}
interface CocoResult {
  image_id: number;
  caption: string;
}
interface MetricsGolden {
  image_ids: number[];
  gts: string[][];
  res: string[][];
}
interface ProbesGolden {
  probes: { caption: string; tokens: string; alone: string }[];
}

const captions = readJson<CocoCaptions>("coco", "captions_test.json");
const results = readJson<CocoResult[]>("coco", "results_test.json");
const metrics = readJson<MetricsGolden>("goldens", "coco", "metrics.json");
const probes = readJson<ProbesGolden>("goldens", "coco", "ptb-probes.json").probes;

/** Image id -> captions, as pycocoevalcap's COCOEvalCap builds gts and res (image order, then file order). */
function byImage(imageIds: number[], rows: { image_id: number; caption: string }[]): Map<ImageId, string[]> {
  const map = new Map<ImageId, string[]>(imageIds.map((id) => [id, []]));
  for (const row of rows) map.get(row.image_id)?.push(row.caption);
  return map;
}

function mismatches(actual: string[], expected: string[], inputs: string[]) {
  return inputs.map((caption, i) => ({ caption, actual: actual[i], expected: expected[i] })).filter((m) => m.actual !== m.expected);
}

describe("PTB tokenisation equals pycocoevalcap's PTBTokenizer on the COCO test set", () => {
  const imageIds = captions.images.map((im) => im.id);

  it("iterates the images in pycocoevalcap's order", () => {
    expect(imageIds).toEqual(metrics.image_ids);
  });

  it("every reference caption", () => {
    const tokenized = tokenizeCaptions(byImage(imageIds, captions.annotations));
    expect([...tokenized.keys()]).toEqual(metrics.image_ids);
    expect([...tokenized.values()]).toEqual(metrics.gts);
  });

  it("every candidate caption", () => {
    const tokenized = tokenizeCaptions(byImage(imageIds, results));
    expect([...tokenized.keys()]).toEqual(metrics.image_ids);
    expect([...tokenized.values()]).toEqual(metrics.res);
  });
});

describe("PTB tokenisation equals the real tokenizer on the probe captions", () => {
  const inputs = probes.map((p) => p.caption);

  it(`all ${probes.length} probes as one batch, as pycocoevalcap tokenizes them`, () => {
    const tokenized = tokenizeCaptions(new Map(inputs.map((c, i) => [i, [c]])));
    const actual = [...tokenized.values()].map((v) => v[0]);
    expect(
      mismatches(
        actual,
        probes.map((p) => p.tokens),
        inputs,
      ),
    ).toEqual([]);
  });

  it(`each of the ${probes.length} probes alone (ptbTokenize)`, () => {
    const actual = inputs.map((c) => ptbTokenize(c));
    expect(
      mismatches(
        actual,
        probes.map((p) => p.alone),
        inputs,
      ),
    ).toEqual([]);
  });

  it("looks into the next caption of a batch, as the reference does", () => {
    const differing = probes.filter((p) => p.tokens !== p.alone);
    expect(differing.length).toBeGreaterThan(0);
    // "vitamin C." before "A man ...": an initial before a sentence-starting word loses its period.
    const batch = tokenizeCaptions(new Map([[1, ["A bottle of vitamin C.", "A man eating an orange."]]]));
    expect(batch.get(1)).toEqual(["a bottle of vitamin c", "a man eating an orange"]);
    expect(ptbTokenize("A bottle of vitamin C.")).toBe("a bottle of vitamin c.");
  });
});

describe("ptbTokenize and tokenizeCaptions", () => {
  it("splits contractions and possessives, keeps numbers, hyphenated words and abbreviations", () => {
    expect(ptbTokenize("It's the man's t-shirt, isn't it? Don't!")).toBe("it 's the man 's t-shirt is n't it do n't");
    expect(ptbTokenize("The players' 1,000 balls cost $3.50 (10% off)")).toBe("the players 1,000 balls cost $ 3.50 -lrb- 10 % off -rrb-");
    expect(ptbTokenize("Mr. Smith -- a black-and-white cat... in the U.S.")).toBe("mr. smith a black-and-white cat in the u.s.");
    expect(ptbTokenize('A "café" sign 😀 with 1 1/2 ½ cakes')).toBe("a café sign with 1\u00a01/2 1/2 cakes");
  });

  it("drops only pycocoevalcap's punctuation tokens", () => {
    expect([...PTB_PUNCTUATIONS]).toContain("-LRB-");
    expect(ptbLexLine("(a) ?! !!! -- ...")).toEqual(["-lrb-", "a", "-rrb-", "?!", "!!!", "--", "..."]);
    expect(ptbTokenize("(a) ?! !!! -- ...")).toBe("-lrb- a -rrb- ?! !!!");
  });

  it("treats a newline inside a caption as a space, as pycocoevalcap does", () => {
    expect(ptbTokenize("A dog\non a\r\nbeach")).toBe("a dog on a beach");
    const out = tokenizeCaptions(new Map([["a", ["two\nlines", "next"]]]));
    expect(out.get("a")).toEqual(["two lines", "next"]);
  });

  it("keeps keys (numbers or strings), their order and empty lists", () => {
    const input = new Map<ImageId, string[]>([
      [42, ["A cat.", ""]],
      ["x", []],
      [7, ["  ", "A DOG!"]],
    ]);
    const out = tokenizeCaptions(input);
    expect([...out.keys()]).toEqual([42, "x", 7]);
    expect(out.get(42)).toEqual(["a cat", ""]);
    expect(out.get("x")).toEqual([]);
    expect(out.get(7)).toEqual(["", "a dog"]);
    expect(tokenizeCaptions(new Map()).size).toBe(0);
  });
});
