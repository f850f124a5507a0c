/**
 * The OpenAI-compatible embeddings API on `emb serve`'s HTTP port (what LangChain, LlamaIndex and
 * litellm call): POST /v1/embeddings and GET /v1/models. Texts go through the embed_text endpoint
 * and images (infinity's `"modality": "image"`, as data URLs or base64) through embed_image, so
 * their rows share the Triton endpoints' batchers and count in their statistics. Vectors are unit
 * length, as OpenAI's are (`"normalize": false`, as text-embeddings-inference takes it, gives the
 * model's raw output) and equal `emb embed text --normalize`'s; errors are OpenAI's error object.
 */
import { basename } from "node:path";
import type { TextEmbedder } from "../models/types.js";
import { l2normalize } from "../runtime/vectors.js";
import type { ServedEndpoint } from "./endpoint.js";
import { ProtocolError, type InferRequest } from "./protocol.js";

/** A failure in OpenAI's shape: {"error": {message, type, param, code}}. */
export class OpenAiError extends ProtocolError {
  constructor(
    message: string,
    status: number,
    readonly param: string | null = null,
    readonly code: string | null = null,
  ) {
    super(message, status);
  }

  body(): { error: { message: string; type: string; param: string | null; code: string | null } } {
    const type = this.status === 401 ? "authentication_error" : this.status >= 500 ? "server_error" : "invalid_request_error";
    return { error: { message: this.message, type, param: this.param, code: this.code } };
  }
}

/** Any error as OpenAI's error object, with its status. */
export function openAiError(error: unknown): OpenAiError {
  if (error instanceof OpenAiError) return error;
  if (error instanceof ProtocolError) return new OpenAiError(error.message, error.status, null, error.status === 401 ? "invalid_api_key" : null);
  return new OpenAiError(error instanceof Error ? error.message : String(error), 500);
}

/** Inputs one request may carry, as OpenAI allows. */
export const MAX_INPUTS = 2048;

export interface OpenAiModel {
  /** The model as --model named it (a hub id or a folder). */
  spec: string;
  text?: { endpoint: ServedEndpoint; model: TextEmbedder };
  image: ServedEndpoint;
  dim: number;
}

export class OpenAiEmbeddings {
  private readonly names: Set<string>;
  private readonly created = Math.floor(Date.now() / 1000);

  constructor(private readonly model: OpenAiModel) {
    // what clients may send as "model": the id /v1/models lists, its last path part, the family and Triton names
    this.names = new Set([this.id, model.spec, basename(model.spec), "siglip", "embed_text", "embed_image"]);
  }

  get id(): string {
    return this.model.spec;
  }

  models(): { object: "list"; data: { id: string; object: "model"; created: number; owned_by: string }[] } {
    return { object: "list", data: [{ id: this.id, object: "model", created: this.created, owned_by: "emb" }] };
  }

  async embeddings(body: Buffer, signal: AbortSignal): Promise<Record<string, unknown>> {
    const request = parseEmbeddingsRequest(body);
    if (!this.names.has(request.model)) {
      throw new OpenAiError(
        `The model \`${request.model}\` does not exist on this server; it serves ${this.id} (GET /v1/models)`,
        404,
        "model",
        "model_not_found",
      );
    }
    if (request.dimensions !== undefined && request.dimensions !== this.model.dim) {
      throw new OpenAiError(
        `dimensions ${request.dimensions}: this model's embeddings have ${this.model.dim} dimensions and cannot be shortened (it was not trained to be); leave dimensions out`,
        400,
        "dimensions",
      );
    }
    const vectors = request.image ? await this.embedImages(request.inputs, signal) : await this.embedTexts(request.inputs, signal);
    const tokens = request.image ? 0 : request.inputs.reduce((sum, text) => sum + this.tokenCount(text), 0);
    return {
      object: "list",
      data: vectors.map((vector, index) => {
        const out = request.normalize ? l2normalize(vector) : vector;
        return {
          object: "embedding",
          index,
          embedding: request.base64 ? Buffer.from(out.buffer, out.byteOffset, out.byteLength).toString("base64") : Array.from(out),
        };
      }),
      model: this.id,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    };
  }

  private async embedTexts(texts: string[], signal: AbortSignal): Promise<Float32Array[]> {
    if (!this.model.text)
      throw new OpenAiError(`${this.id} has no text tower: it embeds images only (send "modality": "image")`, 400, "input", "unsupported_input");
    return rowsOf(
      await this.model.text.endpoint.infer(
        bytesRequest(
          "INPUT_TEXT",
          texts.map((t) => Buffer.from(t, "utf8")),
          {},
        ),
        signal,
      ),
      this.model.dim,
    );
  }

  private async embedImages(images: string[], signal: AbortSignal): Promise<Float32Array[]> {
    const bytes = images.map((image, i) => imageBytes(image, images.length > 1 ? i : undefined));
    return rowsOf(await this.model.image.infer(bytesRequest("INPUT_IMAGE", bytes, {}), signal), this.model.dim);
  }

  /** A text's tokens as the model counts them: through its end-of-text token, padding left out. */
  private tokenCount(text: string): number {
    const { tokenizer } = this.model.text!.model;
    const { ids } = tokenizer.encode(text);
    const end = tokenizer.eosId === undefined ? -1 : ids.indexOf(tokenizer.eosId);
    return end >= 0 ? end + 1 : ids.filter((id) => id !== tokenizer.padId).length;
  }
}

interface EmbeddingsRequest {
  model: string;
  inputs: string[];
  image: boolean;
  base64: boolean;
  normalize: boolean;
  dimensions?: number;
}

/** Reads and checks a request body; every refusal names the field (OpenAI's "param"). */
export function parseEmbeddingsRequest(body: Buffer): EmbeddingsRequest {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(body.toString("utf8"));
  } catch {
    throw new OpenAiError('the body is not JSON: send {"model": "...", "input": "text" or ["text", ...]}', 400);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw new OpenAiError("the body must be a JSON object", 400);
  if (typeof json.model !== "string") throw new OpenAiError("you must provide a model parameter (GET /v1/models lists it)", 400, "model");
  const input = json.input;
  const inputs = typeof input === "string" ? [input] : Array.isArray(input) ? input : undefined;
  if (!inputs || inputs.length === 0) throw new OpenAiError('"input" must be a string or a non-empty array of strings', 400, "input");
  if (inputs.some((i) => typeof i !== "string")) {
    throw new OpenAiError(
      '"input" must be text: token ids from another tokenizer mean nothing to this model (LangChain: OpenAIEmbeddings(check_embedding_ctx_length=False) sends text)',
      400,
      "input",
    );
  }
  if (inputs.length > MAX_INPUTS) throw new OpenAiError(`"input" has ${inputs.length} entries; send at most ${MAX_INPUTS} per request`, 400, "input");
  const format = json.encoding_format ?? "float";
  if (format !== "float" && format !== "base64")
    throw new OpenAiError(`encoding_format ${JSON.stringify(format)}: give "float" or "base64"`, 400, "encoding_format");
  const modality = json.modality ?? "text";
  if (modality !== "text" && modality !== "image") throw new OpenAiError(`modality ${JSON.stringify(modality)}: give "text" or "image"`, 400, "modality");
  if (json.normalize !== undefined && typeof json.normalize !== "boolean") throw new OpenAiError("normalize must be true or false", 400, "normalize");
  const dimensions = json.dimensions;
  if (dimensions !== undefined && (!Number.isInteger(dimensions) || (dimensions as number) < 1)) {
    throw new OpenAiError(`dimensions must be a whole number of at least 1, not ${JSON.stringify(dimensions)}`, 400, "dimensions");
  }
  return {
    model: json.model,
    inputs: inputs as string[],
    image: modality === "image",
    base64: format === "base64",
    normalize: json.normalize !== false,
    dimensions: dimensions as number | undefined,
  };
}

/** An image input: a data URL or plain base64; emb does not fetch URLs. */
function imageBytes(input: string, index?: number): Buffer {
  const where = index === undefined ? "input" : `input[${index}]`;
  if (/^https?:\/\//i.test(input)) throw new OpenAiError(`${where} is a URL; emb serve does not fetch images: send it as a data URL or base64`, 400, "input");
  const data = input.startsWith("data:") ? input.slice(input.indexOf(",") + 1) : input;
  const text = data.replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length === 0) throw new OpenAiError(`${where} is neither a data URL nor base64 of an image`, 400, "input");
  return Buffer.from(text, "base64");
}

function bytesRequest(name: string, values: Buffer[], parameters: Record<string, unknown>): InferRequest {
  return {
    parameters,
    inputs: new Map([[name, { name, datatype: "BYTES", shape: [values.length, 1], data: { kind: "bytes", values } }]]),
    binaryByDefault: false,
  };
}

function rowsOf(outputs: { data: Float32Array | Buffer[] }[], dim: number): Float32Array[] {
  const data = outputs[0].data as Float32Array;
  return Array.from({ length: data.length / dim }, (_, i) => data.slice(i * dim, (i + 1) * dim));
}
