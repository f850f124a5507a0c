/**
 * `emb perf --url`: a model on a running KServe v2 / Triton HTTP server (`emb serve` or a real
 * Triton Inference Server) as a perf target. Requests go over keep-alive connections (one per
 * request in flight) with Triton's binary tensor extension; outputs are asked for in binary and
 * read to the end but not parsed. The client times each request; what the server spent on it
 * comes from its statistics (`/v2/models/<name>/stats`), read by the measurement loop at each
 * window's edges (load.ts).
 */
import http from "node:http";
import https from "node:https";
import { parseModelStatistics, ServerStatsError, type ServerStatistics } from "./server-stats.js";
import type { RemoteSender, RemoteTarget } from "./targets.js";

/** The server could not be reached, or answered with an error. */
export class RemoteError extends Error {
  constructor(
    message: string,
    /** The HTTP status, when the server answered. */
    readonly status?: number,
    /** What the server said, when it answered with an error. */
    readonly serverMessage?: string,
  ) {
    super(message);
    this.name = "RemoteError";
  }
}

interface Reply {
  status: number;
  body: Buffer;
}

/** A model's metadata (GET /v2/models/<name>): its inputs as the server describes them. */
export interface ModelMetadata {
  name: string;
  platform?: string;
  inputs: { name: string; datatype: string; shape: number[] }[];
}

/** One request ready to send: the JSON header and the tensors' bytes after it. */
export interface EncodedRequest {
  body: Buffer;
  headerLength: number;
}

/** An input tensor in binary form (INT64 little-endian, BYTES as length-prefixed elements). */
export interface BinaryInput {
  name: string;
  datatype: string;
  shape: number[];
  data: Buffer;
}

/** Triton's binary tensor extension: a JSON header naming each input's byte count, then the bytes; binary outputs asked for. */
export function encodeRequest(inputs: BinaryInput[]): EncodedRequest {
  const header = {
    inputs: inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape, parameters: { binary_data_size: t.data.length } })),
    parameters: { binary_data_output: true },
  };
  const head = Buffer.from(JSON.stringify(header));
  return { body: Buffer.concat([head, ...inputs.map((t) => t.data)]), headerLength: head.length };
}

/** Integers as INT64 (or INT32) little-endian. */
export function integerBytes(values: number[], datatype: "INT64" | "INT32"): Buffer {
  const size = datatype === "INT64" ? 8 : 4;
  const out = Buffer.alloc(values.length * size);
  values.forEach((v, i) => (datatype === "INT64" ? out.writeBigInt64LE(BigInt(v), i * size) : out.writeInt32LE(v, i * size)));
  return out;
}

/** The server's error text: KServe's `{"error": "..."}`, else the body's start. */
function errorText(body: Buffer): string {
  const text = body.toString("utf8").trim();
  try {
    const parsed = JSON.parse(text) as { error?: unknown };
    if (typeof parsed?.error === "string") return parsed.error;
  } catch {
    // not JSON: the text itself
  }
  return text.length > 300 ? `${text.slice(0, 300)}…` : text || "(no message)";
}

/** HTTP(S) requests to one server, optionally with a bearer token, over the given agent's connections. */
export class RemoteClient {
  private readonly base: URL;
  private readonly prefix: string;
  private readonly agent: http.Agent;

  /** `maxSockets`: connections kept open to the server, at least the requests in flight. */
  constructor(
    url: string,
    private readonly token: string | undefined,
    maxSockets = 1,
  ) {
    this.base = parseServerUrl(url);
    this.prefix = this.base.pathname.replace(/\/+$/, "");
    // Idle connections stay open between requests; the default of 256 idle ones would close and
    // reopen connections past that many requests in flight.
    const options = { keepAlive: true, maxSockets, maxFreeSockets: maxSockets };
    this.agent = this.base.protocol === "https:" ? new https.Agent(options) : new http.Agent(options);
  }

  /** The server's address as the user gave it, for messages. */
  get url(): string {
    return `${this.base.protocol}//${this.base.host}${this.prefix}`;
  }

  /** The token sent, for a client of the same server in another thread. */
  get bearerToken(): string | undefined {
    return this.token;
  }

  /** The same server and token over connections of its own, `maxSockets` of them. */
  connections(maxSockets: number): RemoteClient {
    return new RemoteClient(this.url, this.token, maxSockets);
  }

  /** Closes the connections. */
  close(): void {
    this.agent.destroy();
  }

  send(method: string, path: string, body?: Buffer, headers: Record<string, string> = {}, timeoutMs?: number): Promise<Reply> {
    const transport = this.base.protocol === "https:" ? https : http;
    const all: Record<string, string | number> = { ...headers };
    if (this.token) all.Authorization = `Bearer ${this.token}`;
    if (body) all["Content-Length"] = body.length;
    return new Promise((resolve, reject) => {
      const request = transport.request(
        {
          protocol: this.base.protocol,
          // URL keeps an IPv6 address in brackets; the request wants it without.
          hostname: this.base.hostname.replace(/^\[(.*)\]$/, "$1"),
          port: this.base.port || undefined,
          path: this.prefix + path,
          method,
          agent: this.agent,
          headers: all,
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("end", () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks) }));
          response.on("error", (error) => reject(this.connectionError(error)));
        },
      );
      request.on("error", (error) => reject(this.connectionError(error)));
      if (timeoutMs !== undefined) request.setTimeout(timeoutMs, () => request.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
      request.end(body);
    });
  }

  /** GET a JSON document; a RemoteError for anything but a 200 with JSON. */
  async getJson(path: string, what: string): Promise<unknown> {
    const reply = await this.send("GET", path, undefined, { Accept: "application/json" }, 30_000);
    if (reply.status !== 200) {
      const text = errorText(reply.body);
      throw new RemoteError(`${what}: HTTP ${reply.status} from ${this.url}${path}: ${text}`, reply.status, text);
    }
    try {
      return JSON.parse(reply.body.toString("utf8"));
    } catch {
      throw new RemoteError(`${what}: ${this.url}${path} did not answer with JSON`);
    }
  }

  async metadata(model: string): Promise<ModelMetadata> {
    const body = (await this.getJson(`/v2/models/${encodeURIComponent(model)}`, `model "${model}"`)) as Partial<ModelMetadata>;
    const inputs = Array.isArray(body?.inputs)
      ? body.inputs.filter((i) => typeof i?.name === "string" && typeof i?.datatype === "string" && Array.isArray(i?.shape))
      : [];
    if (inputs.length === 0) throw new RemoteError(`model "${model}" at ${this.url}: its metadata lists no inputs`);
    return { name: model, platform: body.platform, inputs };
  }

  async statistics(model: string): Promise<ServerStatistics> {
    const body = await this.getJson(`/v2/models/${encodeURIComponent(model)}/stats`, `statistics of model "${model}"`);
    try {
      return parseModelStatistics(body, model);
    } catch (error) {
      if (error instanceof ServerStatsError) throw new RemoteError(`${this.url}: ${error.message}`);
      throw error;
    }
  }

  async infer(model: string, request: EncodedRequest): Promise<void> {
    const reply = await this.send("POST", `/v2/models/${encodeURIComponent(model)}/infer`, request.body, {
      "Content-Type": "application/octet-stream",
      "Inference-Header-Content-Length": String(request.headerLength),
    });
    if (reply.status !== 200) {
      const text = errorText(reply.body);
      throw new RemoteError(`${model}: HTTP ${reply.status}: ${text}`, reply.status, text);
    }
  }

  private connectionError(error: Error & { code?: string }): Error {
    if (error instanceof RemoteError) return error;
    switch (error.code) {
      case "ECONNREFUSED":
        return new RemoteError(
          `cannot connect to ${this.url}: connection refused. Is a server running there? Start one with \`emb serve\` (it prints the address it listens on), or give --url of a Triton server`,
        );
      case "ENOTFOUND":
      case "EAI_AGAIN":
        return new RemoteError(`cannot connect to ${this.url}: host ${this.base.hostname} not found`);
      case "ECONNRESET":
      case "EPIPE":
        return new RemoteError(`${this.url} closed the connection (${error.code}); did the server stop?`);
      default:
        return new RemoteError(`${this.url}: ${error.message}`);
    }
  }
}

/** `--url`: an http(s) address; a RangeError (a usage error) otherwise. */
export function parseServerUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new RangeError(`--url ${text}: not a URL; give the server's address, e.g. http://127.0.0.1:8000`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new RangeError(`--url ${text}: give an http:// or https:// address`);
  if (url.search || url.hash) throw new RangeError(`--url ${text}: give the server's address without a query or fragment`);
  return url;
}

/** A model on the server: request `i` sends prepared request `i` modulo their count. */
class ServerModel implements RemoteTarget {
  readonly kind = "remote" as const;

  constructor(
    readonly name: string,
    private readonly model: string,
    /** The requests' connections. */
    private readonly load: RemoteClient,
    /** A connection of the statistics' own, so that reading them never waits for a busy one. */
    private readonly stats: RemoteClient,
    private readonly requests: EncodedRequest[],
  ) {}

  run(i: number): Promise<void> {
    return this.load.infer(this.model, this.requests[i % this.requests.length]);
  }

  get sender(): RemoteSender {
    return { url: this.load.url, token: this.load.bearerToken, model: this.model, requests: this.requests };
  }

  serverStats(): Promise<ServerStatistics> {
    return this.stats.statistics(this.model);
  }

  async close(): Promise<void> {
    this.load.close();
    this.stats.close();
  }
}

/** A target for up to `maxInFlight` requests in flight, each on a keep-alive connection of its own. */
export function serverTarget(name: string, model: string, client: RemoteClient, requests: EncodedRequest[], maxInFlight: number): RemoteTarget {
  if (requests.length === 0) throw new Error("no requests to send");
  return new ServerModel(name, model, client.connections(maxInFlight), client.connections(1), requests);
}
