/**
 * `emb serve`'s limits on the tiny models: request bytes held at once stay within
 * --max-inflight-mb (a 503 with Retry-After, gRPC UNAVAILABLE, beyond it; every byte given back
 * after aborted uploads), prompts and texts longer than the model takes are a 400 naming the
 * limit (never a 500 from onnxruntime or the tokenizer), and a server reachable beyond this
 * machine without a token is warned about, an empty token refused.
 */
import { credentials, loadPackageDefinition, Metadata, status, type Client, type ServiceError } from "@grpc/grpc-js";
import { request as httpRequest, type ClientRequest, type IncomingMessage } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadInferenceProto } from "../../src/serve/grpc.js";
import { isLoopback } from "../../src/serve/lifecycle.js";
import { runCli } from "../helpers/cli.js";
import { fixturePath } from "../helpers/fixtures.js";
import { captionIds, image, SIGLIP, startServe, type RunningServer } from "../helpers/serve.js";

const FLORENCE = fixturePath("florence2-tiny");
const MIB = 2 ** 20;

type InferenceClient = Client & Record<string, (...args: unknown[]) => unknown>;
const proto = loadPackageDefinition(loadInferenceProto()) as unknown as {
  inference: { GRPCInferenceService: new (address: string, creds: ReturnType<typeof credentials.createInsecure>) => InferenceClient };
};

function call<T = any>(client: InferenceClient, method: string, request: object): Promise<T> {
  return new Promise((resolve, reject) =>
    client[method](request, new Metadata(), (error: ServiceError | null, response: T) => (error ? reject(error) : resolve(response))),
  );
}

async function refusal(promise: Promise<unknown>): Promise<ServiceError> {
  try {
    await promise;
  } catch (error) {
    return error as ServiceError;
  }
  throw new Error("the call succeeded");
}

let server: RunningServer;
let client: InferenceClient;

beforeAll(async () => {
  server = await startServe([
    "--model",
    `siglip=${SIGLIP}`,
    "--model",
    `florence2=${FLORENCE}`,
    "--max-new-tokens",
    "4",
    "--max-body-mb",
    "2",
    "--max-inflight-mb",
    "2",
    // Requests wait this long for a fuller batch: long enough to hold their bytes while another arrives.
    "--max-queue-delay-us",
    "500000",
  ]);
  client = new proto.inference.GRPCInferenceService(server.grpc!, credentials.createInsecure());
}, 120_000);

afterAll(async () => {
  client?.close();
  await server?.stop();
});

/** A siglip_text request padded with spaces to `size` bytes of valid JSON. */
function paddedIdsRequest(size: number): Buffer {
  const json = JSON.stringify({ inputs: [{ name: "INPUT_IDS", shape: [1, 64], datatype: "INT64", data: captionIds(0) }] });
  return Buffer.from(json + " ".repeat(size - json.length));
}

interface Answer {
  status: number;
  headers: IncomingMessage["headers"];
  body: string;
}

/** An upload sent in parts: the answer may come before the body has all been sent (a refusal does). */
function upload(path: string, headers: Record<string, string | number>): { req: ClientRequest; answer: Promise<Answer> } {
  const { hostname, port } = new URL(server.url);
  const req = httpRequest({ method: "POST", hostname, port, path, headers: { "Content-Type": "application/json", ...headers } });
  // A refused upload's remaining bytes may meet a closed socket.
  req.on("error", () => {});
  const answer = new Promise<Answer>((resolve) =>
    req.on("response", (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    }),
  );
  return { req, answer };
}

const infer = (model: string, body: unknown) =>
  fetch(`${server.url}/v2/models/${model}/infer`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });

describe("emb serve: request bytes in flight stay within --max-inflight-mb", () => {
  const SIZE = 1_200_000;

  it("of two uploads that together exceed the budget, one is refused with 503, Retry-After and a JSON error before its body is sent; the other is answered", async () => {
    const body = paddedIdsRequest(SIZE);
    const uploads = [0, 1].map(() => upload("/v2/models/siglip_text/infer", { "Content-Length": SIZE }));
    for (const u of uploads) u.req.write(body.subarray(0, 1000));
    // Neither body is complete, so the first answer can only be a refusal.
    const first = await Promise.race(uploads.map((u, i) => u.answer.then((a) => ({ ...a, i }))));
    expect(first.status, first.body).toBe(503);
    expect(first.headers["retry-after"]).toBe("1");
    expect(JSON.parse(first.body).error).toMatch(/--max-inflight-mb/);
    uploads[first.i].req.destroy();
    const other = uploads[1 - first.i];
    other.req.end(body.subarray(1000));
    const answered = await other.answer;
    expect(answered.status, answered.body).toBe(200);
    expect(JSON.parse(answered.body).outputs[0].shape).toEqual([1, 32]);
  });

  it("a body without Content-Length (chunked) counts as its bytes arrive", async () => {
    const body = paddedIdsRequest(SIZE);
    const chunked = upload("/v2/models/siglip_text/infer", {});
    chunked.req.write(body.subarray(0, SIZE - 1000));
    const declared = upload("/v2/models/siglip_text/infer", { "Content-Length": SIZE });
    declared.req.write(body.subarray(0, 1000));
    const uploads = [chunked, declared];
    const first = await Promise.race(uploads.map((u, i) => u.answer.then((a) => ({ ...a, i }))));
    expect(first.status, first.body).toBe(503);
    uploads[first.i].req.destroy();
    const other = uploads[1 - first.i];
    other.req.end(body.subarray(other === chunked ? SIZE - 1000 : 1000));
    expect((await other.answer).status).toBe(200);
  });

  it("gives back every byte of uploads the clients abort: afterwards a body of almost the whole budget is answered", async () => {
    const body = paddedIdsRequest(SIZE);
    for (let round = 0; round < 10; round++) {
      const aborted = [upload("/v2/models/siglip_text/infer", { "Content-Length": SIZE }), upload("/v2/models/siglip_text/infer", {})];
      for (const u of aborted) u.req.write(body.subarray(0, 200_000));
      // Let the server take their bytes before they go.
      await new Promise((r) => setTimeout(r, 20));
      for (const u of aborted) u.req.destroy();
    }
    const whole = paddedIdsRequest(2 * MIB - 10_000).toString();
    // The server notices the aborts as their sockets close: a leak would refuse this for ever.
    let last: Response | undefined;
    for (let tries = 0; tries < 50; tries++) {
      last = await fetch(`${server.url}/v2/models/siglip_text/infer`, { method: "POST", body: whole, headers: { "Content-Type": "application/json" } });
      if (last.status !== 503) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(last!.status, await last!.clone().text()).toBe(200);
    expect(((await last!.json()) as any).outputs[0].shape).toEqual([1, 32]);
  });

  it("over gRPC, an infer message that would exceed the budget is UNAVAILABLE naming the flag; the next is answered", async () => {
    const pad = { parameter_choice: "string_param", string_param: "x".repeat(SIZE) };
    const request = {
      model_name: "siglip_text",
      inputs: [{ name: "INPUT_IDS", datatype: "INT64", shape: [1, 64], contents: { int64_contents: captionIds(0) } }],
    };
    // The first waits in the batcher (--max-queue-delay-us) holding its bytes while the second arrives.
    const results = await Promise.allSettled([0, 1].map(() => call(client, "ModelInfer", { ...request, parameters: { pad } })));
    const refused = results.filter((r) => r.status === "rejected").map((r) => (r as PromiseRejectedResult).reason as ServiceError);
    expect(refused).toHaveLength(1);
    expect(refused[0].code).toBe(status.UNAVAILABLE);
    expect(refused[0].details).toMatch(/--max-inflight-mb/);
    expect((await call(client, "ModelInfer", request)).outputs[0].shape).toEqual([1, 32]);
  });

  it("refuses a budget below the per-body limit (exit 2)", () => {
    const r = runCli(["serve", "--max-body-mb", "8", "--max-inflight-mb", "4", "--no-progress"]);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/--max-inflight-mb 4 is below --max-body-mb 8/);
  });
});

describe("emb serve: prompts and texts longer than the model takes are a 400 naming the limit", () => {
  const base64Image = image("small_64x48.jpg").toString("base64");
  const florence = (text: string) => ({
    inputs: [
      { name: "INPUT_IMAGE", shape: [1, 1], datatype: "BYTES", data: [base64Image] },
      { name: "TASK_PROMPT", shape: [1, 1], datatype: "BYTES", data: ["<CAPTION_TO_PHRASE_GROUNDING>"] },
      { name: "TEXT_PROMPT", shape: [1, 1], datatype: "BYTES", data: [text] },
    ],
  });
  // The tiny model's config: max_position_embeddings 1024, image_seq_length 577.
  const LIMIT = /this model takes at most 447 \(max_position_embeddings 1,024 less the image's 577 tokens\); shorten TEXT_PROMPT/;
  const megabyte = "a red square on a white field ".repeat(35_000);

  it("florence2: a 1 MB TEXT_PROMPT over HTTP", async () => {
    const res = await infer("florence2", florence(megabyte));
    const body = (await res.json()) as { error: string };
    expect(res.status, body.error).toBe(400);
    expect(body.error).toMatch(/^TEXT_PROMPT: the prompt has at least [\d,]+ tokens; /);
    expect(body.error).toMatch(LIMIT);
  });

  it("florence2: a prompt just over the limit gets its exact count; one within it is answered", async () => {
    const over = await infer("florence2", florence("red ".repeat(460)));
    const body = (await over.json()) as { error: string };
    expect(over.status, body.error).toBe(400);
    expect(body.error).toMatch(/^TEXT_PROMPT: the prompt has \d{3} tokens; /);
    expect(body.error).toMatch(LIMIT);
    const within = await infer("florence2", florence("red ".repeat(400)));
    expect(within.status, await within.clone().text()).toBe(200);
  });

  it("florence2: a 1 MB TEXT_PROMPT over gRPC is INVALID_ARGUMENT with the same message", async () => {
    const bytes = (s: string) => ({ bytes_contents: [Buffer.from(s)] });
    const error = await refusal(
      call(client, "ModelInfer", {
        model_name: "florence2",
        inputs: [
          { name: "INPUT_IMAGE", datatype: "BYTES", shape: [1, 1], contents: bytes(base64Image) },
          { name: "TASK_PROMPT", datatype: "BYTES", shape: [1, 1], contents: bytes("<CAPTION_TO_PHRASE_GROUNDING>") },
          { name: "TEXT_PROMPT", datatype: "BYTES", shape: [1, 1], contents: bytes(megabyte) },
        ],
      }),
    );
    expect(error.code).toBe(status.INVALID_ARGUMENT);
    expect(error.details).toMatch(LIMIT);
  });

  it("florence2: a 1 MB task is named in a short error", async () => {
    const request = florence("a cat");
    request.inputs[1].data = [`<CAPTION>${"x".repeat(1_000_000)}`];
    const res = await infer("florence2", request);
    const body = (await res.json()) as { error: string };
    expect(res.status).toBe(400);
    expect(body.error).toMatch(/^unknown Florence-2 task "<CAPTION>xxx/);
    expect(body.error.length).toBeLessThan(1000);
  });

  it("embed_text: a 1 MB text over HTTP and gRPC", async () => {
    const res = await infer("embed_text", { inputs: [{ name: "INPUT_TEXT", shape: [1, 1], datatype: "BYTES", data: [megabyte] }] });
    const body = (await res.json()) as { error: string };
    expect(res.status, body.error).toBe(400);
    expect(body.error).toMatch(
      /^INPUT_TEXT is 1,050,000 bytes; embed_text takes texts of at most 16,384 bytes and 64 tokens, the most SigLIP takes; shorten it$/,
    );
    const error = await refusal(
      call(client, "ModelInfer", {
        model_name: "embed_text",
        inputs: [{ name: "INPUT_TEXT", datatype: "BYTES", shape: [1, 1], contents: { bytes_contents: [Buffer.from(megabyte)] } }],
      }),
    );
    expect(error.code).toBe(status.INVALID_ARGUMENT);
    expect(error.details).toBe(body.error);
    // The server still answers.
    const ok = await infer("embed_text", { inputs: [{ name: "INPUT_TEXT", shape: [1, 1], datatype: "BYTES", data: ["a red square"] }] });
    expect(ok.status).toBe(200);
  });
});

describe("emb serve: a server beyond this machine without a token", () => {
  const WARNING =
    /Warning: --host 0\.0\.0\.0 without a token lets anyone who can reach this machine run the models; set one with --token-file FILE or EMB_SERVE_TOKEN/g;

  it("is warned about once on stderr; with a token it is not", async () => {
    const open = await startServe(["--model", `siglip=${SIGLIP}`, "--host", "0.0.0.0"]);
    try {
      expect(open.stderr().match(WARNING), open.stderr()).toHaveLength(1);
    } finally {
      await open.stop();
    }
    const guarded = await startServe(["--model", `siglip=${SIGLIP}`, "--host", "0.0.0.0"], { EMB_SERVE_TOKEN: "s3cret" });
    try {
      expect(guarded.stderr()).not.toMatch(/without a token/);
    } finally {
      await guarded.stop();
    }
    const local = await startServe(["--model", `siglip=${SIGLIP}`, "--no-grpc"]);
    try {
      expect(local.stderr()).not.toMatch(/without a token/);
    } finally {
      await local.stop();
    }
  });

  it("an empty EMB_SERVE_TOKEN is a usage error (exit 2) naming the fix, not a server without a token", () => {
    for (const token of ["", "  "]) {
      const r = runCli(["serve", "--model", `siglip=${SIGLIP}`, "--host", "0.0.0.0", "--no-progress"], { EMB_SERVE_TOKEN: token });
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/EMB_SERVE_TOKEN is set but empty; set it to the token clients must send, or unset it to serve without one/);
    }
  });

  it("knows loopback addresses from the others", () => {
    for (const a of ["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"]) expect(isLoopback(a), a).toBe(true);
    for (const a of ["0.0.0.0", "::", "192.168.1.5", "10.0.0.1", "::ffff:10.0.0.1", "fe80::1"]) expect(isLoopback(a), a).toBe(false);
  });
});
