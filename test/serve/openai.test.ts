/**
 * The OpenAI-compatible API of `emb serve`, called with the official `openai` client unchanged
 * (base URL pointed at the server): embeddings.create gives the vectors `emb embed text
 * --normalize` and `emb embed image --normalize` write for the same inputs, in float and base64
 * (the client's default) alike; usage counts the model's tokens; refusals are OpenAI's errors
 * with their status codes; the bearer token is the client's API key.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readJsonl } from "../../src/io/jsonl.js";
import { parseNpy } from "../../src/io/npy.js";
import { runCli } from "../helpers/cli.js";
import { fixturePath } from "../helpers/fixtures.js";
import { golden, type RunningServer, SIGLIP, startServe } from "../helpers/serve.js";

const tmp = (name: string) => mkdtempSync(join(tmpdir(), `emb-openai-${name}-`));
const TOKEN = "sk-emb-test";
const CAPTIONS = ["a photo of a cat", "A dog running on the beach.", "two people talking", "x"];
const PHOTOS = ["photo_500x375.jpg", "cmyk_320x240.jpg", "exif_rot90_400x300.jpg"];

/** The rows `emb embed <kind> --normalize` writes for the inputs, in input order. */
function embedded(kind: "text" | "image", inputs: string[]): number[][] {
  const out = join(tmp(kind), "emb");
  const args =
    kind === "text"
      ? ["embed", "text", "--file", writeLines(inputs), "--model", SIGLIP, "--out", out, "--normalize", "--no-progress"]
      : ["embed", "image", ...inputs, "--model", SIGLIP, "--out", out, "--normalize", "--no-progress"];
  const run = runCli(args);
  expect(run.status, run.stderr).toBe(0);
  const npy = parseNpy(readFileSync(join(out, "embeddings.npy")));
  const d = npy.shape[1];
  const rows = readJsonl<{ row: number; path?: string; line?: number }>(join(out, "index.jsonl"));
  const order = kind === "text" ? rows.sort((a, b) => a.line! - b.line!) : inputs.map((p) => rows.find((r) => r.path === p)!);
  return order.map((r) => Array.from((npy.data as Float32Array).subarray(r.row * d, (r.row + 1) * d)));
}

function writeLines(lines: string[]): string {
  const file = join(tmp("captions"), "captions.txt");
  writeFileSync(file, `${lines.join("\n")}\n`);
  return file;
}

describe("emb serve: OpenAI embeddings API", () => {
  let server: RunningServer;
  let client: OpenAI;
  beforeAll(async () => {
    server = await startServe(["--model", `siglip=${SIGLIP}`, "--no-grpc"], { EMB_SERVE_TOKEN: TOKEN });
    client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: TOKEN, maxRetries: 0 });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("embeddings.create on texts equals emb embed text --normalize, base64 (the client's default) and float alike", async () => {
    const expected = embedded("text", CAPTIONS);
    for (const encoding_format of [undefined, "float"] as const) {
      const answer = await client.embeddings.create({ model: SIGLIP, input: CAPTIONS, ...(encoding_format ? { encoding_format } : {}) });
      expect(answer.object).toBe("list");
      expect(answer.model).toBe(SIGLIP);
      expect(answer.data.map((d) => d.index)).toEqual([0, 1, 2, 3]);
      answer.data.forEach((d, i) => expect(d.embedding).toEqual(expected[i]));
    }
    const one = await client.embeddings.create({ model: "siglip", input: CAPTIONS[1], encoding_format: "float" });
    expect(one.data[0].embedding).toEqual(expected[1]);
  });

  it("counts the model's tokens in usage: each caption through its end-of-text token", async () => {
    // the tiny SigLIP's goldens hold each caption's ids as SiglipTokenizer gives them, padded with the end id (1)
    const captions = golden.captions.slice(0, 5) as { text: string; input_ids: number[] }[];
    const answer = await client.embeddings.create({ model: SIGLIP, input: captions.map((c) => c.text), encoding_format: "float" });
    const expected = captions.reduce((sum, c) => sum + c.input_ids.indexOf(1) + 1, 0);
    expect(answer.usage).toEqual({ prompt_tokens: expected, total_tokens: expected });
  });

  it("images through the same endpoint (modality image, data URLs or base64) equal emb embed image --normalize", async () => {
    const paths = PHOTOS.map((p) => fixturePath("images", p));
    const expected = embedded("image", paths);
    const input = paths.map((p, i) => (i === 0 ? `data:image/jpeg;base64,${readFileSync(p).toString("base64")}` : readFileSync(p).toString("base64")));
    // modality is infinity's extension, passed through the client as an extra body field
    const answer = await client.embeddings.create(
      { model: SIGLIP, input, encoding_format: "float" },
      { body: { model: SIGLIP, input, encoding_format: "float", modality: "image" } },
    );
    // the server batches the images as its batcher forms batches, emb embed image as its own does:
    // onnxruntime's float32 sums differ with the batch by a few units in the last place
    answer.data.forEach((d, i) => {
      expect(d.embedding).toHaveLength(expected[i].length);
      expect(Math.max(...d.embedding.map((x, j) => Math.abs(x - expected[i][j])))).toBeLessThan(1e-6);
    });
    expect(answer.usage.prompt_tokens).toBe(0);
  });

  it("lists its model, and answers OpenAI-shaped errors the client raises as its own error classes", async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual([SIGLIP]);

    await expect(client.embeddings.create({ model: "text-embedding-3-small", input: "hi" })).rejects.toMatchObject({
      status: 404,
      code: "model_not_found",
      param: "model",
    });
    await expect(client.embeddings.create({ model: SIGLIP, input: "hi", dimensions: 8 })).rejects.toMatchObject({ status: 400, param: "dimensions" });
    await expect(client.embeddings.create({ model: SIGLIP, input: [[1, 2, 3]] })).rejects.toMatchObject({ status: 400, param: "input" });
    const wrongKey = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "wrong", maxRetries: 0 });
    await expect(wrongKey.embeddings.create({ model: SIGLIP, input: "hi" })).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    const raw = await fetch(`${server.url}/v1/embeddings`, {
      method: "POST",
      headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
      body: JSON.stringify({ model: SIGLIP, input: ["https://example.com/cat.jpg"], modality: "image" }),
    });
    expect(raw.status).toBe(400);
    expect(await raw.json()).toEqual({
      error: {
        message: "input is a URL; emb serve does not fetch images: send it as a data URL or base64",
        type: "invalid_request_error",
        param: "input",
        code: null,
      },
    });
    // an image that does not decode is the client's fault
    await expect(
      client.embeddings.create(
        { model: SIGLIP, input: [Buffer.from("not an image").toString("base64")] },
        { body: { model: SIGLIP, input: [Buffer.from("not an image").toString("base64")], modality: "image" } },
      ),
    ).rejects.toMatchObject({ status: 400 });
  });
});
