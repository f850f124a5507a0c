/**
 * `emb serve` over gRPC on the tiny models, driven by a @grpc/grpc-js client loading the same
 * .proto (wire-compatible with Triton's, so this is what tritonclient.grpc and perf_analyzer -i
 * grpc send): metadata, config, ModelInfer with raw and typed contents and request parameters,
 * answers equal to PyTorch's goldens, statistics, streaming, bad requests as INVALID_ARGUMENT
 * naming the problem, the token, and a SIGTERM that answers the calls in flight.
 */
import { credentials, loadPackageDefinition, Metadata, status, type Client, type ServiceError } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inferRequestFromGrpc, loadInferenceProto, type GrpcInferRequest } from "../../src/serve/grpc.js";
import { ProtocolError } from "../../src/serve/protocol.js";
import { maxAbsDiff } from "../helpers/fixtures.js";
import { captionIds, golden, goldenRow, image, imageIndex, SIGLIP, startServe, type RunningServer } from "../helpers/serve.js";

type InferenceClient = Client & Record<string, (...args: unknown[]) => unknown>;

const proto = loadPackageDefinition(loadInferenceProto()) as unknown as {
  inference: { GRPCInferenceService: new (address: string, creds: ReturnType<typeof credentials.createInsecure>) => InferenceClient };
};
const connect = (address: string) => new proto.inference.GRPCInferenceService(address, credentials.createInsecure());

/** One unary call; rejects with the ServiceError. */
function call<T = any>(client: InferenceClient, method: string, request: object, metadata = new Metadata()): Promise<T> {
  return new Promise((resolve, reject) =>
    client[method](request, metadata, (error: ServiceError | null, response: T) => (error ? reject(error) : resolve(response))),
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

const int64s = (values: number[]) => Buffer.from(new BigInt64Array(values.map(BigInt)).buffer);
const bytesTensor = (...items: Buffer[]) => Buffer.concat(items.flatMap((b) => [Buffer.from(new Uint32Array([b.length]).buffer), b]));
const floats = (b: Buffer) => new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
const idsRequest = (rows: number[][], extra: object = {}) => ({
  model_name: "siglip_text",
  inputs: [{ name: "INPUT_IDS", datatype: "INT64", shape: [rows.length, 64] }],
  raw_input_contents: [int64s(rows.flat())],
  ...extra,
});

let server: RunningServer;
let client: InferenceClient;

beforeAll(async () => {
  server = await startServe(["--model", `siglip=${SIGLIP}`, "--max-queue-delay-us", "100000"]);
  expect(server.grpc).toMatch(/^127\.0\.0\.1:\d+$/);
  client = connect(server.grpc!);
}, 120_000);

afterAll(async () => {
  client?.close();
  await server?.stop();
});

describe("emb serve over gRPC: what Triton's gRPC clients get", () => {
  it("health, server and model metadata, model config and readiness as Triton's messages", async () => {
    expect(await call(client, "ServerLive", {})).toEqual({ live: true });
    expect(await call(client, "ServerReady", {})).toEqual({ ready: true });
    expect(await call(client, "ModelReady", { name: "embed_image" })).toEqual({ ready: true });
    const meta = await call(client, "ServerMetadata", {});
    expect(meta).toMatchObject({ name: "emb", extensions: expect.arrayContaining(["statistics", "model_configuration"]) });
    expect(await call(client, "ModelMetadata", { name: "siglip_text", version: "1" })).toEqual({
      name: "siglip_text",
      versions: ["1"],
      platform: "emb_siglip_text",
      inputs: [{ name: "INPUT_IDS", datatype: "INT64", shape: [-1, 64] }],
      outputs: [{ name: "EMBEDDING", datatype: "FP32", shape: [-1, 32] }],
    });
    const { config } = await call(client, "ModelConfig", { name: "embed_image" });
    expect(config).toMatchObject({
      name: "embed_image",
      backend: "emb",
      max_batch_size: 16,
      input: [{ name: "INPUT_IMAGE", data_type: "TYPE_STRING", dims: [1] }],
      output: [{ name: "EMBEDDING", data_type: "TYPE_FP32", dims: [32] }],
      dynamic_batching: { preferred_batch_size: [16], max_queue_delay_microseconds: 100000 },
      instance_group: [{ kind: "KIND_CPU", count: 1 }],
      parameters: { default_base64_encoded: { string_value: "false" } },
    });
    const index = await call(client, "RepositoryIndex", {});
    expect(index.models.map((m: { name: string }) => m.name)).toEqual(["siglip_text", "embed_text", "siglip_vision", "embed_image", "siglip"]);
  });

  it("siglip_text: raw_input_contents INT64 (two rows) give PyTorch's pooler_output in raw_output_contents, id echoed", async () => {
    const response = await call(client, "ModelInfer", idsRequest([captionIds(0), captionIds(2)], { id: "req-9" }));
    expect(response).toMatchObject({
      model_name: "siglip_text",
      model_version: "1",
      id: "req-9",
      outputs: [{ name: "EMBEDDING", datatype: "FP32", shape: [2, 32] }],
    });
    expect(response.raw_output_contents).toHaveLength(1);
    const vectors = floats(response.raw_output_contents[0]);
    expect(maxAbsDiff(vectors.slice(0, 32), goldenRow("text_pooler_output.npy", 0))).toBeLessThan(1e-5);
    expect(maxAbsDiff(vectors.slice(32), goldenRow("text_pooler_output.npy", 2))).toBeLessThan(1e-5);
  });

  it("siglip_text: typed int64_contents give the same", async () => {
    const response = await call(client, "ModelInfer", {
      model_name: "siglip_text",
      inputs: [{ name: "INPUT_IDS", datatype: "INT64", shape: [1, 64], contents: { int64_contents: captionIds(1) } }],
      outputs: [{ name: "EMBEDDING" }],
    });
    expect(maxAbsDiff(floats(response.raw_output_contents[0]), goldenRow("text_pooler_output.npy", 1))).toBeLessThan(1e-5);
  });

  it("embed_image: base64 strings in raw BYTES with base64_encoded as bool_param (perf_analyzer's --request-parameter) agree with PyTorch", async () => {
    const files = ["portrait_375x500.jpg", "exif_rot90_400x300.jpg"];
    const response = await call(client, "ModelInfer", {
      model_name: "embed_image",
      parameters: { base64_encoded: { bool_param: true } },
      inputs: [{ name: "INPUT_IMAGE", datatype: "BYTES", shape: [2, 1] }],
      raw_input_contents: [bytesTensor(...files.map((f) => Buffer.from(image(f).toString("base64"))))],
    });
    expect(response.outputs).toMatchObject([{ name: "EMBEDDING", datatype: "FP32", shape: [2, 32] }]);
    const vectors = floats(response.raw_output_contents[0]);
    files.forEach((f, i) =>
      expect(maxAbsDiff(vectors.slice(i * 32, (i + 1) * 32), goldenRow("vision_pooler_output.npy", imageIndex(f))), f).toBeLessThan(1e-5),
    );
  });

  it("embed_text: bytes_contents with embed_model as string_param", async () => {
    const response = await call(client, "ModelInfer", {
      model_name: "embed_text",
      parameters: { embed_model: { string_param: "siglip_text" } },
      inputs: [{ name: "INPUT_TEXT", datatype: "BYTES", shape: [1, 1], contents: { bytes_contents: [Buffer.from(golden.captions[3].text)] } }],
    });
    expect(maxAbsDiff(floats(response.raw_output_contents[0]), goldenRow("text_pooler_output.npy", 3))).toBeLessThan(1e-5);
  });

  it("counts requests, inferences and batches in ModelStatistics", async () => {
    const stats = async () => (await call(client, "ModelStatistics", { name: "siglip_text" })).model_stats[0];
    const before = await stats();
    const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => call(client, "ModelInfer", idsRequest([captionIds(i % 4)]))));
    expect(answers).toHaveLength(6);
    const after = await stats();
    expect(after.name).toBe("siglip_text");
    expect(after.inference_count - before.inference_count).toBe(6);
    expect(after.inference_stats.success.count - before.inference_stats.success.count).toBe(6);
    expect(after.inference_stats.queue.count).toBe(after.inference_stats.success.count);
    expect(after.execution_count - before.execution_count).toBeLessThan(6);
    expect(after.batch_stats.some((b: { batch_size: number }) => b.batch_size > 1)).toBe(true);
    const all = await call(client, "ModelStatistics", {});
    expect(all.model_stats.map((s: { name: string }) => s.name)).toEqual(["siglip_text", "embed_text", "siglip_vision", "embed_image", "siglip"]);
  });

  it("ModelStreamInfer answers each request on the stream, a failed one with its error_message", async () => {
    const stream = (client as any).ModelStreamInfer();
    const answers: any[] = [];
    const ended = new Promise<void>((resolve, reject) => {
      stream.on("data", (a: unknown) => answers.push(a));
      stream.on("end", resolve);
      stream.on("error", reject);
    });
    stream.write(idsRequest([captionIds(0)], { id: "a" }));
    stream.write(idsRequest([captionIds(1)], { id: "b", model_name: "clip" }));
    stream.end();
    await ended;
    expect(answers).toHaveLength(2);
    const ok = answers.find((a) => a.infer_response?.id === "a");
    expect(maxAbsDiff(floats(ok.infer_response.raw_output_contents[0]), goldenRow("text_pooler_output.npy", 0))).toBeLessThan(1e-5);
    expect(answers.find((a) => a.error_message)?.error_message).toMatch(/unknown model "clip"/);
  });
});

describe("emb serve over gRPC: bad requests are INVALID_ARGUMENT naming the problem, and the server keeps serving", () => {
  const image64 = (parameters: object, data = "aGk=") => ({
    model_name: "embed_image",
    parameters,
    inputs: [{ name: "INPUT_IMAGE", datatype: "BYTES", shape: [1, 1] }],
    raw_input_contents: [bytesTensor(Buffer.from(data))],
  });
  const cases: [string, object, RegExp, status?][] = [
    ["base64_encoded as a string", image64({ base64_encoded: { string_param: "true" } }), /base64_encoded: "true"; it must be true or false/],
    ["base64 that is not base64", image64({ base64_encoded: { bool_param: true } }, "@@@@"), /not base64/],
    [
      "a wrong shape",
      {
        ...idsRequest([captionIds(0)]),
        inputs: [{ name: "INPUT_IDS", datatype: "INT64", shape: [1, 32] }],
        raw_input_contents: [int64s(captionIds(0).slice(0, 32))],
      },
      /shape \[1,32\], expected \[-1,64\]/,
    ],
    [
      "raw data that does not fill the shape",
      { ...idsRequest([captionIds(0)]), raw_input_contents: [int64s(captionIds(0).slice(0, 10))] },
      /64 elements but 10 were sent/,
    ],
    [
      "raw bytes that are not whole INT64s",
      { ...idsRequest([captionIds(0)]), raw_input_contents: [Buffer.alloc(13)] },
      /13 bytes is not a whole number of INT64 elements/,
    ],
    ["no inputs", { ...idsRequest([captionIds(0)]), raw_input_contents: [] as Buffer[], inputs: [] }, /non-empty "inputs"/],
    [
      "two raw entries for one input",
      { ...idsRequest([captionIds(0)]), raw_input_contents: [int64s(captionIds(0)), int64s(captionIds(1))] },
      /raw_input_contents has 2 entries for 1 inputs/,
    ],
    [
      "a truncated BYTES element",
      { ...image64({}), model_name: "siglip_vision", raw_input_contents: [bytesTensor(Buffer.from("abc")).subarray(0, 5)] },
      /says 3 bytes but only 1 follow/,
    ],
    [
      "contents in the wrong list",
      { model_name: "siglip_text", inputs: [{ name: "INPUT_IDS", datatype: "INT64", shape: [1, 64], contents: { int_contents: captionIds(0) } }] },
      /INT64 data goes in contents\.int64_contents, not contents\.int_contents/,
    ],
    [
      "no data at all",
      { model_name: "siglip_text", inputs: [{ name: "INPUT_IDS", datatype: "INT64", shape: [1, 64] }] },
      /has no data: send it in raw_input_contents or contents\.int64_contents/,
    ],
    ["a token id outside the vocabulary", idsRequest([[...Array(63).fill(1), 5000]]), /token id 5000 at position 63 is outside the vocabulary/],
    ["an unknown output", { ...idsRequest([captionIds(0)]), outputs: [{ name: "LOGITS" }] }, /unknown output "LOGITS"/],
    ["an unknown model", { ...idsRequest([captionIds(0)]), model_name: "clip" }, /unknown model "clip"; this server has siglip_text/, status.NOT_FOUND],
    ["an unknown version", { ...idsRequest([captionIds(0)]), model_version: "3" }, /has no version 3/, status.NOT_FOUND],
  ];
  for (const [what, request, message, code] of cases) {
    it(what, async () => {
      const error = await refusal(call(client, "ModelInfer", request));
      expect(error.code).toBe(code ?? status.INVALID_ARGUMENT);
      expect(error.details).toMatch(message);
    });
  }

  it("an unknown model's metadata is NOT_FOUND; the server still answers correctly afterwards", async () => {
    const error = await refusal(call(client, "ModelMetadata", { name: "clip" }));
    expect(error.code).toBe(status.NOT_FOUND);
    const response = await call(client, "ModelInfer", idsRequest([captionIds(1)]));
    expect(maxAbsDiff(floats(response.raw_output_contents[0]), goldenRow("text_pooler_output.npy", 1))).toBeLessThan(1e-5);
  });

  it("converts typed contents and parameters as the HTTP side does, and refuses what this server lacks", () => {
    const request = (extra: Partial<GrpcInferRequest>): GrpcInferRequest => ({
      inputs: [{ name: "X", datatype: "FP32", shape: [2], contents: { fp32_contents: [0.5, -1] } }],
      ...extra,
    });
    const parsed = inferRequestFromGrpc(
      request({ id: "q", parameters: { n: { int64_param: 7, parameter_choice: "int64_param" }, b: { bool_param: false, parameter_choice: "bool_param" } } }),
    );
    expect(parsed.id).toBe("q");
    expect(parsed.parameters).toEqual({ n: 7, b: false });
    expect(Array.from(parsed.inputs.get("X")!.data.values as ArrayLike<number>)).toEqual([0.5, -1]);
    expect(parsed.outputs).toBeUndefined();
    const refused = (r: GrpcInferRequest) => () => inferRequestFromGrpc(r);
    expect(refused({ inputs: [{ name: "X", datatype: "FP16", shape: [1], contents: { fp32_contents: [1] } }] })).toThrow(
      /FP16 data can only come in raw_input_contents/,
    );
    expect(refused(request({ raw_input_contents: [Buffer.alloc(8)] }))).toThrow(/both in contents\.fp32_contents and in raw_input_contents/);
    expect(refused(request({ parameters: { p: {} } }))).toThrow(ProtocolError);
    expect(
      refused({
        inputs: [{ name: "X", datatype: "FP32", shape: [1], parameters: { shared_memory_region: { string_param: "r", parameter_choice: "string_param" } } }],
      }),
    ).toThrow(/no shared memory/);
    expect(refused({ inputs: [{ name: "X", datatype: "INT32", shape: [1], contents: { int_contents: [1.5] } }] })).toThrow(/INT32 data must be integers/);
  });
});

describe("emb serve over gRPC: token, --no-grpc and shutdown", () => {
  it("requires the bearer token in the authorization metadata, except for ServerLive and ServerReady", async () => {
    const guarded = await startServe(["--model", `siglip=${SIGLIP}`], { EMB_SERVE_TOKEN: "s3cret" });
    const c = connect(guarded.grpc!);
    const bearer = (token: string) => {
      const m = new Metadata();
      m.set("authorization", `Bearer ${token}`);
      return m;
    };
    try {
      expect(await call(c, "ServerReady", {})).toEqual({ ready: true });
      const denied = await refusal(call(c, "ModelMetadata", { name: "siglip_text" }));
      expect(denied.code).toBe(status.UNAUTHENTICATED);
      expect(denied.details).toMatch(/bearer token/);
      expect((await refusal(call(c, "ModelInfer", idsRequest([captionIds(0)]), bearer("s3cre")))).code).toBe(status.UNAUTHENTICATED);
      expect((await call(c, "ModelMetadata", { name: "siglip_text" }, bearer("s3cret"))).name).toBe("siglip_text");
      expect((await call(c, "ModelInfer", idsRequest([captionIds(0)]), bearer("s3cret"))).outputs[0].shape).toEqual([1, 32]);
    } finally {
      c.close();
      await guarded.stop();
    }
  }, 120_000);

  it("answers the calls in flight on SIGTERM, then exits 0; --no-grpc serves HTTP only", async () => {
    const draining = await startServe(["--model", `siglip=${SIGLIP}`, "--max-queue-delay-us", "1500000", "--batch-size", "64"]);
    const c = connect(draining.grpc!);
    try {
      const calls = Array.from({ length: 4 }, (_, i) => call(c, "ModelInfer", idsRequest([captionIds(i)])));
      // The calls now wait in the batcher for its 1.5 s delay.
      await new Promise((r) => setTimeout(r, 500));
      const code = draining.stop();
      const answers = await Promise.all(calls);
      answers.forEach((a, i) => expect(maxAbsDiff(floats(a.raw_output_contents[0]), goldenRow("text_pooler_output.npy", i))).toBeLessThan(1e-5));
      expect(await code).toBe(0);
      expect(draining.stderr()).toMatch(/SIGTERM: answering the requests in flight[\s\S]*stopped/);
    } finally {
      c.close();
    }

    const httpOnly = await startServe(["--model", `siglip=${SIGLIP}`, "--no-grpc"]);
    try {
      expect(httpOnly.grpc).toBeUndefined();
      expect(httpOnly.stderr()).not.toMatch(/gRPC/);
      expect((await fetch(`${httpOnly.url}/v2/health/ready`)).status).toBe(200);
    } finally {
      await httpOnly.stop();
    }
  }, 120_000);
});
