import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildPrompt } from "../../src/models/florence2/tasks.js";
import { decodeAndResize } from "../../src/image/decode.js";
import { normalizePixels } from "../../src/image/normalize.js";
import { Florence2Model, parseFlorence2Dtype } from "../../src/models/florence2/model.js";
import { fixturePath, normalisedPixels, readJson } from "../helpers/fixtures.js";

interface Case {
  image: string;
  task: string;
  pixels: string;
  prompt_ids: number[];
  beam: { sequence: number[]; decoded: string; num_beams: number; no_repeat_ngram_size: number };
  greedy: { sequence: number[]; decoded: string; num_beams: number; no_repeat_ngram_size: number };
}
const golden = readJson<{ cases: Case[]; generation: { max_new_tokens: number } }>("goldens", "florence2", "goldens.json");
let model: Florence2Model;
const pixels = new Map<string, Float32Array>();

beforeAll(async () => {
  model = await Florence2Model.load(fixturePath("florence2-tiny"), parseFlorence2Dtype("fp32"), { device: "cpu", threads: 1 });
  const { mean, std } = model.preprocessing;
  for (const c of golden.cases) pixels.set(c.pixels, await normalisedPixels(fixturePath("goldens", "florence2", c.pixels), mean, std));
});
afterAll(async () => model.release());

describe("Florence-2 generation equals PyTorch's generate()", () => {
  for (const mode of ["beam", "greedy"] as const) {
    it(`${mode} search, one image at a time, for every case`, async () => {
      for (const c of golden.cases) {
        const settings = model.settings({
          numBeams: c[mode].num_beams,
          noRepeatNgramSize: c[mode].no_repeat_ngram_size,
          maxNewTokens: golden.generation.max_new_tokens,
        });
        const [ids] = await model.generate([pixels.get(c.pixels)!], [c.prompt_ids], settings);
        expect(ids, `${c.task} on ${c.image}`).toEqual(c[mode].sequence);
        expect(model.decode(ids)).toBe(c[mode].decoded);
      }
    });

    it(`${mode} search, all cases in one batch (mixed prompt lengths, items finishing at different steps)`, async () => {
      const settings = model.settings({
        numBeams: golden.cases[0][mode].num_beams,
        noRepeatNgramSize: golden.cases[0][mode].no_repeat_ngram_size,
        maxNewTokens: golden.generation.max_new_tokens,
      });
      const out = await model.generate(
        golden.cases.map((c) => pixels.get(c.pixels)!),
        golden.cases.map((c) => c.prompt_ids),
        settings,
      );
      expect(out).toEqual(golden.cases.map((c) => c[mode].sequence));
    });
  }
});

interface GenerationCase {
  image: string;
  image_size: [number, number];
  task: string;
  text: string | null;
  prompt_ids: number[];
  settings: {
    max_new_tokens: number;
    num_beams?: number;
    no_repeat_ngram_size?: number;
    min_new_tokens?: number;
    length_penalty?: number;
    early_stopping?: boolean | "never";
  };
  sequence: number[];
  decoded: string;
}
const generation = readJson<{ cases: GenerationCase[] }>("goldens", "florence2", "generation.json");

describe("Florence-2 generation on every test image and task, through the image pipeline", () => {
  // One batch per image and setting: 15 tasks with prompts of different lengths, finishing at different steps.
  const groups = new Map<string, GenerationCase[]>();
  for (const c of generation.cases) {
    const key = `${c.image} ${JSON.stringify(c.settings)}`;
    groups.set(key, [...(groups.get(key) ?? []), c]);
  }

  it("covers all 15 images x 15 tasks with beam search and greedy, and other settings", () => {
    const images = new Set(generation.cases.map((c) => c.image));
    const tasks = new Set(generation.cases.map((c) => c.task));
    expect(images.size).toBe(15);
    expect(tasks.size).toBe(15);
    expect(generation.cases.filter((c) => Object.keys(c.settings).length === 1)).toHaveLength(225);
  });

  it.each([...groups.entries()])("%s", async (_, cases) => {
    const bytes = await readFile(fixturePath("images", cases[0].image));
    const { width, height } = model.preprocessing;
    const decoded = await decodeAndResize(bytes, { width, height });
    expect([decoded.sourceWidth, decoded.sourceHeight]).toEqual(cases[0].image_size);
    const image = normalizePixels(decoded.pixels, model.preprocessing);
    const s = cases[0].settings;
    const settings = model.settings({
      maxNewTokens: s.max_new_tokens,
      numBeams: s.num_beams,
      noRepeatNgramSize: s.no_repeat_ngram_size,
      minNewTokens: s.min_new_tokens,
      lengthPenalty: s.length_penalty,
      earlyStopping: s.early_stopping,
    });
    const prompts = cases.map((c) => {
      const ids = model.encodePrompt(buildPrompt(c.task, c.text ?? undefined));
      expect(ids, c.task).toEqual(c.prompt_ids);
      return ids;
    });
    const out = await model.generate(
      cases.map(() => image),
      prompts,
      settings,
    );
    cases.forEach((c, i) => {
      expect(out[i], c.task).toEqual(c.sequence);
      expect(model.decode(out[i]), c.task).toBe(c.decoded);
    });
  });
});
