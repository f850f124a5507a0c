/**
 * Beam search and greedy decoding driven by a scripted decoder: the next token depends only on
 * the previous one (a bigram table), so the best sequences can be worked out by hand.
 */
import { describe, expect, it } from "vitest";
import type { StepDecoder } from "../../src/generation/decoder.js";
import { generate } from "../../src/generation/generate.js";
import type { GenerationSettings } from "../../src/generation/settings.js";

const START = 0;
const A = 1;
const EOS = 2;
const B = 3;
const C = 4;
const VOCAB = 5;

/** P(next | previous); every row sums to 1. */
const BIGRAMS: Record<number, Record<number, number>> = {
  [START]: { [A]: 0.6, [B]: 0.4 },
  [A]: { [C]: 0.4, [EOS]: 0.3, [B]: 0.3 },
  [B]: { [EOS]: 0.9, [C]: 0.1 },
  [C]: { [EOS]: 0.97, [A]: 0.03 },
};
const TINY = 1e-9;

class BigramDecoder implements StepDecoder {
  readonly vocabSize = VOCAB;
  steps = 0;
  async step(tokens: number[]): Promise<Float32Array> {
    this.steps++;
    const logits = new Float32Array(tokens.length * VOCAB);
    tokens.forEach((previous, row) => {
      for (let t = 0; t < VOCAB; t++) logits[row * VOCAB + t] = Math.log(BIGRAMS[previous]?.[t] ?? TINY);
    });
    return logits;
  }
}

const settings = (overrides: Partial<GenerationSettings>): GenerationSettings => ({
  numBeams: 1,
  maxNewTokens: 5,
  minNewTokens: 0,
  noRepeatNgramSize: 0,
  earlyStopping: true,
  lengthPenalty: 1,
  decoderStartTokenId: START,
  eosTokenId: EOS,
  padTokenId: EOS,
  ...overrides,
});

describe("generation with a scripted decoder", () => {
  it("greedy takes the locally best token: A (0.6), C (0.4), EOS", async () => {
    const [sequence] = await generate(new BigramDecoder(), 1, settings({ numBeams: 1 }));
    expect(sequence).toEqual([START, A, C, EOS]);
  });

  it("beam search keeps B alive and finds the more probable B, EOS (0.4 x 0.9 = 0.36 > 0.6 x 0.4 x 0.97 = 0.233)", async () => {
    // Length penalty 0: hypotheses are compared by their summed log-probabilities.
    const [sequence] = await generate(new BigramDecoder(), 1, settings({ numBeams: 2, lengthPenalty: 0 }));
    expect(sequence).toEqual([START, B, EOS]);
  });

  it("with length penalty 1 the longer A, C, EOS wins: ln(0.233)/3 = -0.486 > ln(0.36)/2 = -0.511", async () => {
    const [sequence] = await generate(new BigramDecoder(), 1, settings({ numBeams: 2, lengthPenalty: 1 }));
    expect(sequence).toEqual([START, A, C, EOS]);
  });

  it("min_new_tokens holds EOS back: greedy goes A, C, then A (EOS banned), C, EOS", async () => {
    const [sequence] = await generate(new BigramDecoder(), 1, settings({ numBeams: 1, minNewTokens: 3 }));
    expect(sequence).toEqual([START, A, C, A, C, EOS]);
  });

  it("items of one batch are decoded independently", async () => {
    const batch = await generate(new BigramDecoder(), 3, settings({ numBeams: 2, lengthPenalty: 0 }));
    expect(batch).toEqual([
      [START, B, EOS],
      [START, B, EOS],
      [START, B, EOS],
    ]);
  });
});
