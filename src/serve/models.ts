/**
 * The Triton deployment's models as endpoints over emb's adapters, with the Triton deployment's names and tensors:
 *
 *   siglip_text    INPUT_IDS INT64 [64]  -> EMBEDDING FP32 [dim]   token ids padded with 1
 *   embed_text     INPUT_TEXT BYTES [1]  -> EMBEDDING FP32 [dim]   text, tokenised here
 *   siglip_vision  INPUT_IMAGE BYTES [1] -> EMBEDDING FP32 [dim]   raw image bytes
 *   embed_image    INPUT_IMAGE BYTES [1] -> EMBEDDING FP32 [dim]   raw, or base64 with parameter base64_encoded
 *   florence2      INPUT_IMAGE (base64), TASK_PROMPT, TEXT_PROMPT? BYTES [1] -> PARSED_JSON BYTES [1]
 *
 * Embeddings are the model's output as the Triton deployment returned it (SigLIP's pooler_output, not
 * normalised). Endpoints over one model share its Runner, so their rows batch together (as the
 * Triton deployment's embed_text and embed_image fed siglip_text and siglip_vision); all image endpoints
 * share the preparation workers.
 */
import type { BatcherOptions } from "../batching/batcher.js";
import type { GenerationSettings } from "../generation/settings.js";
import { imageToTextTasks, PromptTooLongError, TaskError } from "../models/registry.js";
import type { ImageEmbedder, ImageToText, TextEmbedder } from "../models/types.js";
import { Admission } from "../pipeline/admission.js";
import type { DecodeOptions } from "../image/decode.js";
import type { ImagePreprocessing } from "../image/normalize.js";
import { REQUESTS_PER_WORKER, type PreparePool } from "../image/prepare-pool.js";
import { readAheadFor, Runner } from "../pipeline/runner.js";
import { countExecution, Endpoint, type Counted, type EndpointSpec } from "./endpoint.js";
import type { ModelStatistics } from "./statistics.js";
import { ProtocolError, type InferRequest, type OutputTensor, type Tensor } from "./protocol.js";

const nowNs = () => process.hrtime.bigint();
const count = (n: number) => n.toLocaleString("en-US");

/** The most prompt tokens a model takes, and why (the config values it comes from). */
/**
 * Longer embed_text texts are refused before tokenising: SigLIP takes 64 tokens, and its
 * tokenizer would hold up the server for seconds on megabytes (and overflows the stack).
 */
const TEXT_MAX_BYTES = 16 * 1024;

export interface ImagePreparation {
  pool: PreparePool;
  workers: number;
  decode: DecodeOptions;
}

const embeddingOutput =
  (dim: number) =>
  (vectors: Float32Array[]): OutputTensor[] => {
    const data = new Float32Array(vectors.length * dim);
    vectors.forEach((v, i) => data.set(v, i * dim));
    return [{ name: "EMBEDDING", datatype: "FP32", shape: [vectors.length, dim], data }];
  };

function bytesOf(tensor: Tensor): Buffer[] {
  if (tensor.data.kind !== "bytes") throw new ProtocolError(`input "${tensor.name}" must be BYTES`);
  return tensor.data.values;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function fromBase64(value: Buffer, row: number, rows: number): Buffer {
  const text = value.toString("latin1").replace(/\s+/g, "");
  if (!BASE64.test(text) || text.length % 4 === 1) {
    throw new ProtocolError(
      `INPUT_IMAGE${rows > 1 ? ` row ${row}` : ""} is not base64 (send raw bytes without base64_encoded, or encode the image with base64)`,
    );
  }
  return Buffer.from(text, "base64");
}

/** The base64_encoded request parameter: a JSON boolean, false when absent (as the Triton deployment's embed_image). */
function base64Parameter(request: InferRequest): boolean {
  const value = request.parameters.base64_encoded;
  if (value === undefined) return false;
  if (typeof value !== "boolean") throw new ProtocolError(`invalid base64_encoded: ${JSON.stringify(value)}; it must be true or false`);
  return value;
}

/** Rows of token ids through the text tower: one runner, one batcher, whichever endpoint the rows came from. */
export interface TextTower {
  model: TextEmbedder;
  runner: Runner<Counted<TextRow>, Counted<TextRow>, undefined, Float32Array, Float32Array>;
  admission: Admission;
}

interface TextRow {
  ids: number[];
}

export function textTower(model: TextEmbedder, batching: BatcherOptions): TextTower {
  const runner = new Runner<Counted<TextRow>, Counted<TextRow>, undefined, Float32Array, Float32Array>(
    {
      prepare: async (row) => ({ kind: "ready", input: row, meta: undefined }),
      infer: async (batch) => {
        const start = nowNs();
        try {
          return await model.embedIds(batch.map((row) => row.ids));
        } finally {
          countExecution(batch, Number(nowNs() - start));
        }
      },
      post: (vector) => vector,
    },
    batching,
  );
  return { model, runner, admission: new Admission(readAheadFor(batching, 0, 0)) };
}

function textEndpoint(
  spec: Omit<EndpointSpec, "outputs" | "batching">,
  tower: TextTower,
  rowsOf: (request: InferRequest, rows: number) => TextRow[],
  composing?: ModelStatistics,
): Endpoint<TextRow, Float32Array> {
  const { dim } = tower.model.info;
  const full: EndpointSpec = { ...spec, batching: tower.runner.batching, outputs: [{ name: "EMBEDDING", datatype: "FP32", dims: [dim] }] };
  return new Endpoint(full, tower.runner, tower.admission, rowsOf, embeddingOutput(dim), composing);
}

export function siglipText(tower: TextTower): Endpoint<TextRow, Float32Array> {
  const { length, vocabSize } = tower.model.info;
  return textEndpoint(
    { name: "siglip_text", platform: "emb_siglip_text", inputs: [{ name: "INPUT_IDS", datatype: "INT64", dims: [length] }] },
    tower,
    (request, rows) => {
      const values = request.inputs.get("INPUT_IDS")!.data.values as ArrayLike<number>;
      return Array.from({ length: rows }, (_, r) => {
        const ids = Array.from({ length }, (_, i) => values[r * length + i]);
        const bad = ids.findIndex((id) => id < 0 || id >= vocabSize);
        if (bad >= 0)
          throw new ProtocolError(
            `INPUT_IDS${rows > 1 ? ` row ${r}` : ""}: token id ${ids[bad]} at position ${bad} is outside the vocabulary (0 to ${vocabSize - 1})`,
          );
        return { ids };
      });
    },
  );
}

/** embed_text: text tokenised here, then siglip_text's model (whose statistics count its requests too). */
export function embedText(tower: TextTower, siglipText: ModelStatistics): Endpoint<TextRow, Float32Array> {
  const { length } = tower.model.info;
  const spec = {
    name: "embed_text",
    platform: "emb_siglip_text",
    inputs: [{ name: "INPUT_TEXT", datatype: "BYTES" as const, dims: [1] }],
    parameters: { embed_model: "siglip_text" },
  };
  return textEndpoint(
    spec,
    tower,
    (request) => {
      const embedModel = request.parameters.embed_model;
      if (embedModel !== undefined && embedModel !== "siglip_text")
        throw new ProtocolError(`invalid embed_model ${JSON.stringify(embedModel)}; this server embeds text with siglip_text`);
      const texts = bytesOf(request.inputs.get("INPUT_TEXT")!);
      return texts.map((bytes, r) => {
        const where = `INPUT_TEXT${texts.length > 1 ? ` row ${r}` : ""}`;
        if (bytes.length > TEXT_MAX_BYTES)
          throw new ProtocolError(
            `${where} is ${count(bytes.length)} bytes; embed_text takes texts of at most ${count(TEXT_MAX_BYTES)} bytes and ${length} tokens, the most SigLIP takes; shorten it`,
          );
        const { ids, truncated } = tower.model.tokenizer.encode(bytes.toString("utf8"));
        // The Triton deployment's embed_text refuses text longer than the model takes rather than cut it.
        if (truncated) throw new ProtocolError(`${where} has more than ${length} tokens, the most SigLIP takes; shorten it`);
        return { ids };
      });
    },
    siglipText,
  );
}

/** What an image row carries: the encoded image and, for florence2, the task. */
export interface ImageRow {
  image: Buffer;
  task?: string;
  prompt?: number[];
}

type ImageInput = { pixels: Float32Array; row: Counted<ImageRow> };
type ImageSize = { width: number; height: number };

/** Images decoded and resized on the shared workers, then one model: one runner and batcher for its endpoints. */
export interface ImageTower<Res> {
  runner: Runner<Counted<ImageRow>, ImageInput, ImageSize, unknown, Res>;
  admission: Admission;
}

function imageTower<Out, Res>(
  preparation: ImagePreparation,
  preprocessing: ImagePreprocessing,
  batching: BatcherOptions,
  infer: (images: Float32Array[], rows: ImageRow[]) => Promise<Out[]>,
  post: (output: Out, row: ImageRow, size: ImageSize) => Res,
): ImageTower<Res> {
  const runner = new Runner<Counted<ImageRow>, ImageInput, ImageSize, unknown, Res>(
    {
      prepare: async (row) => {
        const reply = await preparation.pool.prepareBytes(row.image, preprocessing, preparation.decode);
        for (const [stage, ms] of Object.entries(reply.times)) runner.timer.add(stage, ms);
        if (!reply.ok) return { kind: "failed", reason: reply.reason, error: `INPUT_IMAGE: ${reply.error}` };
        return { kind: "ready", input: { pixels: reply.pixels, row }, meta: { width: reply.width, height: reply.height } };
      },
      infer: async (batch) => {
        const start = nowNs();
        try {
          return await infer(
            batch.map((b) => b.pixels),
            batch.map((b) => b.row),
          );
        } finally {
          countExecution(
            batch.map((b) => b.row),
            Number(nowNs() - start),
          );
        }
      },
      post: (output, size, row) => post(output as Out, row, size),
    },
    batching,
  );
  return { runner, admission: new Admission(readAheadFor(batching, preparation.workers, REQUESTS_PER_WORKER)) };
}

export function imageEmbeddingTower(
  model: ImageEmbedder,
  batching: BatcherOptions,
  preparation: ImagePreparation,
): ImageTower<Float32Array> & { model: ImageEmbedder } {
  const tower = imageTower(
    preparation,
    model.preprocessing,
    batching,
    (images) => model.embed(images),
    (vector: Float32Array) => vector,
  );
  return { ...tower, model };
}

/** siglip_vision, or embed_image (raw or base64) feeding siglip_vision's model and statistics. */
export function imageEmbedding(
  name: "siglip_vision" | "embed_image",
  tower: ImageTower<Float32Array> & { model: ImageEmbedder },
  siglipVision?: ModelStatistics,
): Endpoint<ImageRow, Float32Array> {
  const acceptsBase64 = name === "embed_image";
  const { dim } = tower.model;
  const spec: EndpointSpec = {
    name,
    platform: "emb_siglip_vision",
    inputs: [{ name: "INPUT_IMAGE", datatype: "BYTES", dims: [1] }],
    outputs: [{ name: "EMBEDDING", datatype: "FP32", dims: [dim] }],
    batching: tower.runner.batching,
    parameters: acceptsBase64 ? { default_base64_encoded: "false" } : {},
  };
  const rowsOf = (request: InferRequest) => {
    const base64 = acceptsBase64 && base64Parameter(request);
    const images = bytesOf(request.inputs.get("INPUT_IMAGE")!);
    return images.map((image, r) => ({ image: base64 ? fromBase64(image, r, images.length) : image }));
  };
  return new Endpoint(spec, tower.runner, tower.admission, rowsOf, embeddingOutput(dim), siglipVision);
}

/** JSON strings in a message cut to their start: a task error quoting a megabyte of text stays one line. */
const clipQuoted = (message: string) =>
  message.replace(/"(?:[^"\\]|\\.){80,}"/g, (quoted) => `${quoted.slice(0, 60)}..." (${count(quoted.length - 2)} characters)`);

/**
 * A prompt's token ids, refused (ProtocolError) when it has more tokens than the model takes,
 * which would fail inside onnxruntime. A prompt of megabytes is refused on its head alone.
 */
function promptIds(model: ImageToText, prompt: string, where: string): number[] {
  try {
    return model.encodePrompt(prompt, where);
  } catch (error) {
    if (error instanceof PromptTooLongError) throw new ProtocolError(`${where}: ${error.message}`);
    throw error;
  }
}

export function florence2(
  model: ImageToText,
  batching: BatcherOptions,
  preparation: ImagePreparation,
  settings: GenerationSettings,
): Endpoint<ImageRow, string> {
  const tower = imageTower(
    preparation,
    model.preprocessing,
    batching,
    (images, rows) =>
      model.generate(
        images,
        rows.map((r) => r.prompt!),
        settings,
      ),
    (ids: number[], row, size) => JSON.stringify(model.parse(row.task!, model.decode(ids), size)),
  );
  const spec: EndpointSpec = {
    name: "florence2",
    platform: "emb_florence2",
    inputs: [
      { name: "INPUT_IMAGE", datatype: "BYTES", dims: [1] },
      { name: "TASK_PROMPT", datatype: "BYTES", dims: [1] },
      { name: "TEXT_PROMPT", datatype: "BYTES", dims: [1], optional: true },
    ],
    outputs: [{ name: "PARSED_JSON", datatype: "BYTES", dims: [1] }],
    batching,
  };
  const rowsOf = (request: InferRequest) => {
    const images = bytesOf(request.inputs.get("INPUT_IMAGE")!);
    const tasks = bytesOf(request.inputs.get("TASK_PROMPT")!);
    const texts = request.inputs.has("TEXT_PROMPT") ? bytesOf(request.inputs.get("TEXT_PROMPT")!) : undefined;
    return images.map((image, r) => {
      const task = tasks[r].toString("utf8");
      let prompt: string;
      try {
        prompt = imageToTextTasks.prompt(task, texts?.[r].toString("utf8"));
      } catch (error) {
        if (error instanceof TaskError) throw new ProtocolError(clipQuoted(error.message.replaceAll("--text", "TEXT_PROMPT")));
        throw error;
      }
      const where = `TEXT_PROMPT${images.length > 1 ? ` row ${r}` : ""}`;
      // The Triton deployment's florence2 always takes the image base64-encoded.
      return { image: fromBase64(image, r, images.length), task, prompt: promptIds(model, prompt, where) };
    });
  };
  const outputsOf = (results: string[]): OutputTensor[] => [
    { name: "PARSED_JSON", datatype: "BYTES", shape: [results.length, 1], data: results.map((r) => Buffer.from(r, "utf8")) },
  ];
  return new Endpoint(spec, tower.runner, tower.admission, rowsOf, outputsOf);
}
