/**
 * The tiny Florence-2 fixture's four ONNX parts, run by onnxruntime-node, reproduce PyTorch:
 * image features, encoder states, first-step logits, and whole greedy generations through the
 * merged decoder's KV cache. Measured when written: max abs diff 8e-7 (image features),
 * 2e-6 (encoder), 8e-6 (logits).
 */
import * as ort from "onnxruntime-node";
import { beforeAll, describe, expect, it } from "vitest";
import { fixturePath, maxAbsDiff, normalisedPixels, readJson, readNpy } from "../helpers/fixtures.js";

const golden = readJson("goldens", "florence2", "goldens.json");
const config = readJson("florence2-tiny", "config.json");
const SIZE = 768;
const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];

const parts: Record<string, ort.InferenceSession> = {};

beforeAll(async () => {
  for (const name of ["vision_encoder", "embed_tokens", "encoder_model", "decoder_model_merged"]) {
    parts[name] = await ort.InferenceSession.create(fixturePath("florence2-tiny", "onnx", `${name}.onnx`), {
      intraOpNumThreads: 1,
    });
  }
});

async function imageFeatures(pixels: string): Promise<ort.Tensor> {
  const data = await normalisedPixels(fixturePath("goldens", "florence2", pixels), MEAN, STD);
  const out = await parts.vision_encoder.run({ pixel_values: new ort.Tensor("float32", data, [1, 3, SIZE, SIZE]) });
  return out.image_features;
}

async function embed(ids: number[]): Promise<ort.Tensor> {
  const input = new ort.Tensor("int64", BigInt64Array.from(ids.map(BigInt)), [1, ids.length]);
  return (await parts.embed_tokens.run({ input_ids: input })).inputs_embeds;
}

async function encode(features: ort.Tensor, promptIds: number[]) {
  const prompt = await embed(promptIds);
  const [, n, d] = features.dims;
  const length = n + promptIds.length;
  const joined = new Float32Array(length * d);
  joined.set(features.data as Float32Array, 0);
  joined.set(prompt.data as Float32Array, n * d);
  const mask = new ort.Tensor("int64", new BigInt64Array(length).fill(1n), [1, length]);
  const out = await parts.encoder_model.run({ inputs_embeds: new ort.Tensor("float32", joined, [1, length, d]), attention_mask: mask });
  return { hidden: out.last_hidden_state, mask };
}

function argmax(values: Float32Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/** Greedy decoding with Florence-2's forced BOS/EOS, the cache carried between steps. */
async function greedy(hidden: ort.Tensor, mask: ort.Tensor, maxNewTokens: number) {
  const text = config.text_config;
  const layers = text.decoder_layers;
  const heads = text.decoder_attention_heads;
  const headDim = text.d_model / heads;
  const { decoder_start_token_id, forced_bos_token_id, forced_eos_token_id, eos_token_id } = golden.generation;
  let past: Record<string, ort.Tensor> = {};
  for (let i = 0; i < layers; i++) {
    for (const part of ["decoder", "encoder"]) {
      for (const kv of ["key", "value"]) {
        past[`past_key_values.${i}.${part}.${kv}`] = new ort.Tensor("float32", new Float32Array(0), [1, heads, 0, headDim]);
      }
    }
  }
  const tokens = [decoder_start_token_id];
  let firstLogits: Float32Array | undefined;
  for (let step = 0; step < maxNewTokens; step++) {
    const out = await parts.decoder_model_merged.run({
      inputs_embeds: await embed([tokens[tokens.length - 1]]),
      encoder_hidden_states: hidden,
      encoder_attention_mask: mask,
      use_cache_branch: new ort.Tensor("bool", [step > 0], [1]),
      ...past,
    });
    const logits = out.logits.data as Float32Array;
    firstLogits ??= logits.slice();
    let next: number;
    if (step === 0) next = forced_bos_token_id;
    else if (step === maxNewTokens - 1) next = forced_eos_token_id;
    else next = argmax(logits);
    tokens.push(next);
    const present: Record<string, ort.Tensor> = {};
    for (const name of Object.keys(past)) {
      const presentName = name.replace("past_key_values", "present");
      // The cross-attention cache is fixed after the first step, whatever a with-past branch returns.
      present[name] = name.includes(".encoder.") && step > 0 ? past[name] : out[presentName];
    }
    past = present;
    if (next === eos_token_id) break;
  }
  return { tokens, firstLogits: firstLogits! };
}

describe("tiny Florence-2 fixture", () => {
  it("vision_encoder.onnx gives PyTorch's image features for every case", async () => {
    const expected = readNpy("goldens", "florence2", "image_features.npy");
    const [, tokens, dim] = expected.shape;
    expect(tokens).toBe(golden.num_image_tokens);
    for (const [i, c] of golden.cases.entries()) {
      const features = await imageFeatures(c.pixels);
      expect(features.dims).toEqual([1, tokens, dim]);
      const want = (expected.data as Float32Array).subarray(i * tokens * dim, (i + 1) * tokens * dim);
      expect(maxAbsDiff(features.data as Float32Array, want)).toBeLessThan(1e-4);
    }
  });

  it("embed_tokens + encoder_model give PyTorch's encoder states, and the decoder its first logits", async () => {
    const c = golden.cases[0];
    const { hidden, mask } = await encode(await imageFeatures(c.pixels), c.prompt_ids);
    const expectedHidden = readNpy("goldens", "florence2", "case0_encoder_hidden_state.npy");
    expect(hidden.dims.slice(1)).toEqual(expectedHidden.shape);
    expect(maxAbsDiff(hidden.data as Float32Array, expectedHidden.data as Float32Array)).toBeLessThan(1e-4);
    const { firstLogits } = await greedy(hidden, mask, 1);
    const expectedLogits = readNpy("goldens", "florence2", "case0_first_step_logits.npy");
    expect(firstLogits.length).toBe(config.text_config.vocab_size);
    expect(maxAbsDiff(firstLogits, expectedLogits.data as Float32Array)).toBeLessThan(1e-3);
  });

  it("greedy decoding through decoder_model_merged equals PyTorch's generate() for every case", async () => {
    for (const c of golden.cases) {
      const { hidden, mask } = await encode(await imageFeatures(c.pixels), c.prompt_ids);
      const { tokens } = await greedy(hidden, mask, golden.generation.max_new_tokens);
      expect(tokens, `${c.task} on ${c.image}`).toEqual(c.greedy.sequence);
    }
  });

  it("prompt ids are <s> prompt </s> for every task", () => {
    expect(golden.prompts).toHaveLength(15);
    // "What does the image describe?" in BART's byte-level BPE vocabulary, looked up by hand.
    const caption = golden.prompts.find((p: { task: string }) => p.task === "<CAPTION>");
    expect(caption.input_ids).toEqual([0, 2264, 473, 5, 2274, 6190, 116, 2]);
    for (const p of golden.prompts) {
      expect(p.input_ids[0]).toBe(0);
      expect(p.input_ids[p.input_ids.length - 1]).toBe(2);
    }
  });
});
