/**
 * `emb serve` on the tiny models, driven by a plain HTTP client as the Triton deployment's clients drive
 * Triton: answers equal PyTorch's goldens and the CLI's, every protocol form the Triton deployment's clients use, bad
 * requests of every kind answered with a 400 (the server keeps serving), statistics, the token,
 * and a SIGTERM that answers what is in flight before exiting.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseNpy } from "../../src/io/npy.js";
import { runCli } from "../helpers/cli.js";
import { fixturePath, maxAbsDiff, readJson } from "../helpers/fixtures.js";
import { captionIds, golden, goldenRow, image, imageIndex, SIGLIP, startServe, type RunningServer } from "../helpers/serve.js";

const FLORENCE = fixturePath("florence2-tiny");
const florenceCases = readJson<{ cases: { image: string; task: string; text: string | null; settings: Record<string, unknown>; parsed: unknown }[] }>(
  "goldens",
  "florence2",
  "generation.json",
).cases;
const tmp = () => mkdtempSync(join(tmpdir(), "emb-serve-"));

let server: RunningServer;
const url = (path: string) => `${server.url}${path}`;

async function infer(model: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(url(`/v2/models/${model}/infer`), {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: typeof body === "string" ? body : body instanceof Uint8Array ? new Blob([new Uint8Array(body)]) : JSON.stringify(body),
  });
  return res;
}

async function json(model: string, body: unknown) {
  const res = await infer(model, body);
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

/** A binary-extension request: JSON header, then the tensors' bytes. */
function binaryRequest(header: unknown, ...tensors: Buffer[]): { body: Buffer; headerLength: number } {
  const head = Buffer.from(JSON.stringify(header));
  return { body: Buffer.concat([head, ...tensors]), headerLength: head.length };
}

/** A binary response's outputs: each output's bytes after the JSON header. */
async function binaryOutputs(res: Response): Promise<{ header: any; data: Buffer[] }> {
  const body = Buffer.from(await res.arrayBuffer());
  const length = Number(res.headers.get("inference-header-content-length"));
  const header = JSON.parse(body.subarray(0, length).toString("utf8"));
  const data: Buffer[] = [];
  let at = length;
  for (const o of header.outputs) {
    const size = o.parameters.binary_data_size;
    data.push(body.subarray(at, at + size));
    at += size;
  }
  return { header, data };
}

const floats = (b: Buffer) => new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
const bytesTensor = (...items: Buffer[]) => Buffer.concat(items.flatMap((b) => [Buffer.from(new Uint32Array([b.length]).buffer), b]));

beforeAll(async () => {
  server = await startServe([
    "--model",
    `siglip=${SIGLIP}`,
    "--model",
    `florence2=${FLORENCE}`,
    "--max-new-tokens",
    "24",
    "--max-queue-delay-us",
    "100000",
    "--max-body-mb",
    "2",
  ]);
}, 120_000);

afterAll(async () => {
  await server?.stop();
});

describe("emb serve: what the Triton deployment's clients get", () => {
  it("describes the server and each model as Triton does", async () => {
    expect((await fetch(url("/v2/health/live"))).status).toBe(200);
    expect((await fetch(url("/v2/health/ready"))).status).toBe(200);
    const meta = await (await fetch(url("/v2"))).json();
    expect(meta.extensions).toEqual(expect.arrayContaining(["binary_tensor_data", "statistics"]));
    const text = await (await fetch(url("/v2/models/siglip_text"))).json();
    expect(text).toMatchObject({
      name: "siglip_text",
      versions: ["1"],
      inputs: [{ name: "INPUT_IDS", datatype: "INT64", shape: [-1, 64] }],
      outputs: [{ name: "EMBEDDING", datatype: "FP32", shape: [-1, 32] }],
    });
    const config = await (await fetch(url("/v2/models/florence2/versions/1/config"))).json();
    expect(config).toMatchObject({ name: "florence2", max_batch_size: 4, dynamic_batching: { max_queue_delay_microseconds: 100000 } });
    expect(config.input.map((i: { name: string; optional?: boolean }) => [i.name, i.optional ?? false])).toEqual([
      ["INPUT_IMAGE", false],
      ["TASK_PROMPT", false],
      ["TEXT_PROMPT", true],
    ]);
    expect((await fetch(url("/v2/models/embed_image/ready"))).status).toBe(200);
  });

  it("siglip_text: JSON token ids give PyTorch's text pooler_output, request id echoed", async () => {
    const ids = captionIds(0);
    const { status, body } = await json("siglip_text", { id: "req-7", inputs: [{ name: "INPUT_IDS", shape: [1, 64], datatype: "INT64", data: ids }] });
    expect(status, JSON.stringify(body)).toBe(200);
    expect(body).toMatchObject({
      model_name: "siglip_text",
      model_version: "1",
      id: "req-7",
      outputs: [{ name: "EMBEDDING", datatype: "FP32", shape: [1, 32] }],
    });
    expect(maxAbsDiff(body.outputs[0].data, goldenRow("text_pooler_output.npy", 0))).toBeLessThan(1e-5);
  });

  it("siglip_text: a batch of two in binary INT64 with binary output equals the CLI's embed text --ids", async () => {
    const rows = [captionIds(0), captionIds(2)];
    const ids = Buffer.from(new BigInt64Array(rows.flat().map(BigInt)).buffer);
    const { body, headerLength } = binaryRequest(
      {
        inputs: [{ name: "INPUT_IDS", shape: [2, 64], datatype: "INT64", parameters: { binary_data_size: ids.length } }],
        outputs: [{ name: "EMBEDDING", parameters: { binary_data: true } }],
      },
      ids,
    );
    const res = await infer("siglip_text", body, { "Inference-Header-Content-Length": String(headerLength), "Content-Type": "application/octet-stream" });
    expect(res.status).toBe(200);
    const { header, data } = await binaryOutputs(res);
    expect(header.outputs[0].shape).toEqual([2, 32]);
    const served = floats(data[0]);

    const dir = tmp();
    writeFileSync(join(dir, "ids.json"), JSON.stringify(rows));
    const cli = runCli(["embed", "text", "--ids", join(dir, "ids.json"), "--model", SIGLIP, "--out", join(dir, "out"), "--no-progress"]);
    expect(cli.status, cli.stderr).toBe(0);
    const expected = parseNpy(readFileSync(join(dir, "out", "embeddings.npy"))).data as Float32Array;
    expect(maxAbsDiff(served, expected)).toBeLessThan(1e-5);
  });

  it("embed_text: captions are tokenised as SiglipTokenizer does and give PyTorch's vectors", async () => {
    const texts = [golden.captions[0].text, golden.captions[3].text];
    const { status, body } = await json("embed_text", { inputs: [{ name: "INPUT_TEXT", shape: [2, 1], datatype: "BYTES", data: texts }] });
    expect(status, JSON.stringify(body)).toBe(200);
    const data = body.outputs[0].data as number[];
    expect(maxAbsDiff(data.slice(0, 32), goldenRow("text_pooler_output.npy", 0))).toBeLessThan(1e-5);
    expect(maxAbsDiff(data.slice(32), goldenRow("text_pooler_output.npy", 3))).toBeLessThan(1e-5);
  });

  it("embed_image: a raw body (Inference-Header-Content-Length: 0) answers binary float32 equal to PyTorch's and the CLI's", async () => {
    const file = "photo_500x375.jpg";
    const res = await infer("embed_image", image(file), { "Content-Type": "application/octet-stream", "Inference-Header-Content-Length": "0" });
    expect(res.status).toBe(200);
    const body = Buffer.from(await res.arrayBuffer());
    const headerLength = Number(res.headers.get("inference-header-content-length"));
    const vector = floats(body.subarray(headerLength));
    expect(vector.length).toBe(32);
    expect(maxAbsDiff(vector, goldenRow("vision_pooler_output.npy", imageIndex(file)))).toBeLessThan(1e-5);

    const dir = tmp();
    const cli = runCli(["embed", "image", fixturePath("images", file), "--model", SIGLIP, "--out", dir, "--no-progress"]);
    expect(cli.status, cli.stderr).toBe(0);
    expect(maxAbsDiff(vector, parseNpy(readFileSync(join(dir, "embeddings.npy"))).data as Float32Array)).toBeLessThan(1e-5);
  });

  it("embed_image: base64 with base64_encoded, and siglip_vision with BYTES binary data, agree with PyTorch", async () => {
    const files = ["portrait_375x500.jpg", "exif_rot90_400x300.jpg"];
    const { status, body } = await json("embed_image", {
      parameters: { base64_encoded: true },
      inputs: [{ name: "INPUT_IMAGE", shape: [2, 1], datatype: "BYTES", data: files.map((f) => image(f).toString("base64")) }],
    });
    expect(status, JSON.stringify(body)).toBe(200);
    const data = body.outputs[0].data as number[];
    files.forEach((f, i) => expect(maxAbsDiff(data.slice(i * 32, (i + 1) * 32), goldenRow("vision_pooler_output.npy", imageIndex(f))), f).toBeLessThan(1e-5));

    const tensor = bytesTensor(image(files[1]));
    const request = binaryRequest(
      { inputs: [{ name: "INPUT_IMAGE", shape: [1, 1], datatype: "BYTES", parameters: { binary_data_size: tensor.length } }] },
      tensor,
    );
    const res = await infer("siglip_vision", request.body, { "Inference-Header-Content-Length": String(request.headerLength) });
    expect(res.status).toBe(200);
    const answer = await res.json();
    expect(maxAbsDiff(answer.outputs[0].data, goldenRow("vision_pooler_output.npy", imageIndex(files[1])))).toBeLessThan(1e-5);
  });

  it("florence2: base64 image and task give PyTorch's parsed answer as a JSON string", async () => {
    for (const c of florenceCases.filter((c) => JSON.stringify(c.settings) === JSON.stringify({ max_new_tokens: 24 })).slice(0, 3)) {
      const inputs = [
        { name: "INPUT_IMAGE", shape: [1, 1], datatype: "BYTES", data: [image(c.image).toString("base64")] },
        { name: "TASK_PROMPT", shape: [1, 1], datatype: "BYTES", data: [c.task] },
        ...(c.text ? [{ name: "TEXT_PROMPT", shape: [1, 1], datatype: "BYTES", data: [c.text] }] : []),
      ];
      const { status, body } = await json("florence2", { id: "f1", inputs });
      expect(status, JSON.stringify(body)).toBe(200);
      expect(body.outputs[0]).toMatchObject({ name: "PARSED_JSON", datatype: "BYTES", shape: [1, 1] });
      expect(JSON.parse(body.outputs[0].data[0]), `${c.image} ${c.task}`).toEqual(c.parsed);
    }
  });

  it("batches concurrent clients together and reports it in Triton's statistics", async () => {
    const before = (await (await fetch(url("/v2/models/siglip_text/stats"))).json()).model_stats[0];
    const requests = Array.from({ length: 8 }, (_, i) =>
      json("siglip_text", { inputs: [{ name: "INPUT_IDS", shape: [1, 64], datatype: "INT64", data: captionIds(i % 4) }] }),
    );
    for (const r of await Promise.all(requests)) expect(r.status).toBe(200);
    const after = (await (await fetch(url("/v2/models/siglip_text/stats"))).json()).model_stats[0];
    expect(after.inference_count - before.inference_count).toBe(8);
    expect(after.inference_stats.success.count - before.inference_stats.success.count).toBe(8);
    expect(after.execution_count - before.execution_count).toBeLessThan(8);
    expect(after.inference_stats.queue.count).toBe(after.inference_stats.success.count);
    expect(after.batch_stats.some((b: { batch_size: number }) => b.batch_size > 1)).toBe(true);
  });
  it("counts embed_text's and embed_image's requests in siglip_text's and siglip_vision's statistics too, as the Triton deployment's BLS models did", async () => {
    const stats = async () =>
      Object.fromEntries(
        ((await (await fetch(url("/v2/models/stats"))).json()).model_stats as { name: string; inference_count: number }[]).map((s) => [
          s.name,
          s.inference_count,
        ]),
      );
    const before = await stats();
    expect((await json("embed_text", { inputs: [{ name: "INPUT_TEXT", shape: [2, 1], datatype: "BYTES", data: ["a cat", "a dog"] }] })).status).toBe(200);
    expect((await infer("embed_image", image("small_64x48.jpg"), { "Inference-Header-Content-Length": "0" })).status).toBe(200);
    const after = await stats();
    expect(after.embed_text - before.embed_text).toBe(2);
    expect(after.siglip_text - before.siglip_text).toBe(2);
    expect(after.embed_image - before.embed_image).toBe(1);
    expect(after.siglip_vision - before.siglip_vision).toBe(1);
    // "siglip", the Triton deployment's older name of siglip_vision (their perf_analyzer command's
    // --bls-composing=siglip), is the same model with the same statistics.
    expect(after.siglip).toBe(after.siglip_vision);
    const answer = await infer("siglip", image("small_64x48.jpg"), { "Inference-Header-Content-Length": "0" });
    expect(answer.status).toBe(200);
  });
});

describe("emb serve: bad requests get a 400 naming the problem, and the server keeps serving", () => {
  const ids = (shape: number[], data: unknown, extra: object = {}) => ({ inputs: [{ name: "INPUT_IDS", shape, datatype: "INT64", data, ...extra }] });
  const image64 = (data: string, parameters?: object) => ({
    ...(parameters ? { parameters } : {}),
    inputs: [{ name: "INPUT_IMAGE", shape: [1, 1], datatype: "BYTES", data: [data] }],
  });
  const cases: [string, string, unknown, RegExp, number?][] = [
    ["not JSON", "siglip_text", "{inputs: [", /not valid JSON/],
    ["no inputs", "siglip_text", { inputs: [] }, /non-empty "inputs"/],
    [
      "an unknown input",
      "siglip_text",
      { inputs: [{ name: "IDS", shape: [1, 64], datatype: "INT64", data: captionIds(0) }] },
      /unexpected input "IDS".*INPUT_IDS/,
    ],
    [
      "a wrong datatype",
      "siglip_text",
      { inputs: [{ name: "INPUT_IDS", shape: [1, 64], datatype: "FP32", data: captionIds(0) }] },
      /datatype FP32, expected INT64/,
    ],
    [
      "an unknown datatype",
      "siglip_text",
      { inputs: [{ name: "INPUT_IDS", shape: [1, 64], datatype: "INT65", data: captionIds(0) }] },
      /"INT65" is not one of/,
    ],
    ["a wrong shape", "siglip_text", ids([1, 32], captionIds(0).slice(0, 32)), /shape \[1,32\], expected \[-1,64\]/],
    ["data that does not fill the shape", "siglip_text", ids([1, 64], captionIds(0).slice(0, 10)), /64 elements but 10 were sent/],
    ["a batch over the limit", "siglip_text", ids([33, 64], Array(33 * 64).fill(1)), /batch of 33.*1 to 32 rows/],
    ["strings for INT64", "siglip_text", ids([1, 64], Array(64).fill("1")), /must be numbers/],
    [
      "a token id outside the vocabulary",
      "siglip_text",
      ids([1, 64], [...Array(63).fill(1), 5000]),
      /token id 5000 at position 63 is outside the vocabulary \(0 to 999\)/,
    ],
    ["an unknown output", "siglip_text", { ...ids([1, 64], captionIds(0)), outputs: [{ name: "LOGITS" }] }, /unknown output "LOGITS"/],
    [
      "an image that does not decode",
      "siglip_vision",
      { inputs: [{ name: "INPUT_IMAGE", shape: [1, 1], datatype: "BYTES", data: ["not an image"] }] },
      /INPUT_IMAGE: /,
    ],
    ["base64 that is not base64", "embed_image", image64("@@@@", { base64_encoded: true }), /not base64/],
    ["base64_encoded as a string", "embed_image", image64("aGk=", { base64_encoded: "true" }), /base64_encoded: "true"; it must be true or false/],
    [
      "a text over 64 tokens",
      "embed_text",
      { inputs: [{ name: "INPUT_TEXT", shape: [1, 1], datatype: "BYTES", data: [Array(80).fill("word").join(" ")] }] },
      /more than 64 tokens/,
    ],
    [
      "an unknown task",
      "florence2",
      {
        inputs: [
          { name: "INPUT_IMAGE", shape: [1, 1], datatype: "BYTES", data: ["aGk="] },
          { name: "TASK_PROMPT", shape: [1, 1], datatype: "BYTES", data: ["<NOPE>"] },
        ],
      },
      /<NOPE>/,
    ],
    [
      "a missing input",
      "florence2",
      { inputs: [{ name: "TASK_PROMPT", shape: [1, 1], datatype: "BYTES", data: ["<CAPTION>"] }] },
      /input "INPUT_IMAGE" is missing/,
    ],
    [
      "a grounding task without its text",
      "florence2",
      {
        inputs: [
          { name: "INPUT_IMAGE", shape: [1, 1], datatype: "BYTES", data: [image("small_64x48.jpg").toString("base64")] },
          { name: "TASK_PROMPT", shape: [1, 1], datatype: "BYTES", data: ["<CAPTION_TO_PHRASE_GROUNDING>"] },
        ],
      },
      /needs TEXT_PROMPT/,
    ],
    ["an unknown model", "clip", ids([1, 64], captionIds(0)), /unknown model "clip"; this server has siglip_text/, 404],
  ];
  for (const [what, model, body, message, status] of cases) {
    it(`${what}`, async () => {
      const res = await infer(model, body as object);
      expect(res.status).toBe(status ?? 400);
      expect((await res.json()).error).toMatch(message);
    });
  }

  it("binary data that does not add up, a bad header length, a body over the limit", async () => {
    const tensor = Buffer.alloc(64 * 8);
    const short = binaryRequest({ inputs: [{ name: "INPUT_IDS", shape: [1, 64], datatype: "INT64", parameters: { binary_data_size: 1024 } }] }, tensor);
    let res = await infer("siglip_text", short.body, { "Inference-Header-Content-Length": String(short.headerLength) });
    expect(res.status).toBe(400);
    expect((await res.json()).error).toMatch(/binary_data_size 1024 runs past the end/);

    res = await infer("siglip_text", short.body, { "Inference-Header-Content-Length": "abc" });
    expect(res.status).toBe(400);
    expect((await res.json()).error).toMatch(/Inference-Header-Content-Length must be a non-negative integer/);

    const truncated = bytesTensor(Buffer.from("abc")).subarray(0, 5);
    const bad = binaryRequest(
      { inputs: [{ name: "INPUT_IMAGE", shape: [1, 1], datatype: "BYTES", parameters: { binary_data_size: truncated.length } }] },
      truncated,
    );
    res = await infer("siglip_vision", bad.body, { "Inference-Header-Content-Length": String(bad.headerLength) });
    expect(res.status).toBe(400);
    expect((await res.json()).error).toMatch(/says 3 bytes but only 1 follow/);

    res = await infer("embed_image", Buffer.alloc(3 * 1024 * 1024), { "Inference-Header-Content-Length": "0" });
    expect(res.status).toBe(413);
    expect((await res.json()).error).toMatch(/at most 2097152 \(--max-body-mb\)/);
  });

  it("still answers correctly after all of them, and counted the failures", async () => {
    const { status, body } = await json("siglip_text", ids([1, 64], captionIds(1)));
    expect(status).toBe(200);
    expect(maxAbsDiff(body.outputs[0].data, goldenRow("text_pooler_output.npy", 1))).toBeLessThan(1e-5);
    const stats = (await (await fetch(url("/v2/models/stats"))).json()).model_stats;
    const text = stats.find((s: { name: string }) => s.name === "siglip_text");
    // As in Triton, requests that reach the model count; those the protocol layer refused
    // (not JSON, binary data that does not add up) do not: here the six siglip_text cases above
    // from an unknown input to an unknown output.
    expect(text.inference_stats.fail.count).toBe(6);
  });

  it("a client that disconnects while queued does not stop the others", async () => {
    const abort = new AbortController();
    const dropped = fetch(url("/v2/models/siglip_text/infer"), {
      method: "POST",
      body: JSON.stringify(ids([1, 64], captionIds(0))),
      signal: abort.signal,
    }).catch((e) => e);
    setTimeout(() => abort.abort(), 20);
    expect(await dropped).toBeInstanceOf(Error);
    const { status } = await json("siglip_text", ids([1, 64], captionIds(0)));
    expect(status).toBe(200);
  });
});

describe("emb serve: token, flags and shutdown", () => {
  it("requires the bearer token when one is set, except for health probes", async () => {
    const guarded = await startServe(["--model", `siglip=${SIGLIP}`], { EMB_SERVE_TOKEN: "s3cret" });
    try {
      expect((await fetch(`${guarded.url}/v2/health/ready`)).status).toBe(200);
      const denied = await fetch(`${guarded.url}/v2/models/siglip_text`);
      expect(denied.status).toBe(401);
      expect((await denied.json()).error).toMatch(/bearer token/);
      expect((await fetch(`${guarded.url}/v2/models/siglip_text`, { headers: { Authorization: "Bearer s3cret" } })).status).toBe(200);
      expect((await fetch(`${guarded.url}/v2/models/siglip_text`, { headers: { Authorization: "Bearer s3cre" } })).status).toBe(401);
    } finally {
      await guarded.stop();
    }
  }, 120_000);

  it("answers the requests in flight on SIGTERM, then exits 0", async () => {
    const draining = await startServe(["--model", `siglip=${SIGLIP}`, "--max-queue-delay-us", "1500000", "--batch-size", "64"]);
    const requests = Array.from({ length: 6 }, (_, i) =>
      fetch(`${draining.url}/v2/models/siglip_text/infer`, {
        method: "POST",
        body: JSON.stringify({ inputs: [{ name: "INPUT_IDS", shape: [1, 64], datatype: "INT64", data: captionIds(i % 4) }] }),
      }),
    );
    // The requests now wait in the batcher for its 1.5 s delay.
    await new Promise((r) => setTimeout(r, 500));
    const code = draining.stop();
    const answers = await Promise.all(requests);
    expect(answers.map((r) => r.status)).toEqual(Array(6).fill(200));
    expect(await code).toBe(0);
    expect(draining.stderr()).toMatch(/SIGTERM: answering the requests in flight/);
  }, 120_000);

  it("refuses an unknown model family and a batcher for a model that has none, naming the valid ones", () => {
    let run = runCli(["serve", "--model", "clip=./x"]);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/"clip" is not a model family; give siglip\[=DIR\|HUB_ID\] or florence2\[=DIR\|HUB_ID\]/);
    run = runCli(["serve", "--model", `siglip=${SIGLIP}`, "--batcher-config", "embed_image=b.json"]);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/"embed_image" has no batcher; give a file, or siglip_text=FILE, siglip_vision=FILE, florence2=FILE/);
  });
});
