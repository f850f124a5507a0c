/**
 * The HTTP side of `emb serve`: the KServe v2 / Triton routes (health, server and model
 * metadata, model config, statistics, infer) over the served endpoints. Safe by default: bodies
 * have a size limit and all bodies held at once a budget (a 503 with Retry-After beyond it), a
 * bad request gets a 400 with `{"error": ...}` and never stops the server, an optional bearer
 * token guards everything but the health probes, and `drain()` finishes the requests in flight
 * before closing.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { BusyError, RETRY_AFTER_S, type Lease } from "./budget.js";
import { InFlight, shuttingDown } from "./drain.js";
import type { ServedEndpoint } from "./endpoint.js";
import type { ServeMetrics } from "./metrics.js";
import { encodeInferResponse, parseInferRequest, ProtocolError } from "./protocol.js";
import { openAiError, type OpenAiEmbeddings } from "./openai.js";
import { parseSearchRequest, type FolderSearch } from "./search.js";
import { searchPageHtml } from "./search-page.js";
import { checkBearer, ServedModels, serverMetadata, type ServiceOptions } from "./service.js";

export interface ServerOptions extends ServiceOptions {
  /** Largest request body accepted, in bytes. */
  maxBodyBytes: number;
  /** The embeddings folder of --index, searched at /v1/search with its page at /search. */
  search?: FolderSearch;
  /** The OpenAI-compatible API over the embedding model's endpoints (/v1/embeddings, /v1/models). */
  openai?: OpenAiEmbeddings;
  /** Prometheus metrics at GET /metrics, behind the token like the statistics they are read from. */
  metrics?: ServeMetrics;
}

const THUMBNAIL_ROUTE = /^\/v1\/search\/thumbnail\/(\d+)$/;

/** What a request's handlers share: the budget lease its body counts in, and whether its client has gone. */
interface RequestContext {
  lease: Lease;
  signal: AbortSignal;
}

const HEADER_LENGTH = "inference-header-content-length";

/** The routes: /v2/models/<name>[/versions/<v>][/<action>]. */
const MODEL_ROUTE = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?(?:\/(ready|config|stats|infer))?$/;

export class InferenceServer {
  private readonly http: Server;
  private readonly models: ServedModels;
  private readonly inFlight = new InFlight();

  constructor(
    endpoints: ServedEndpoint[],
    private readonly options: ServerOptions,
  ) {
    this.models = new ServedModels(endpoints);
    this.http = createServer((req, res) => void this.handle(req, res));
    // A client that asks before sending its body (Expect: 100-continue, as curl does for large
    // ones) is told to go on only once the body is accepted: a refused body is never sent.
    this.http.on("checkContinue", (req, res) => void this.handle(req, res));
    // Slow or silent clients must not hold sockets forever.
    this.http.headersTimeout = 30_000;
    this.http.requestTimeout = 300_000;
    this.http.keepAliveTimeout = 65_000;
    this.http.maxHeadersCount = 100;
  }

  listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.http.once("error", reject);
      this.http.listen({ port, host, backlog: 8192 }, () => {
        this.http.off("error", reject);
        resolve(this.http.address() as AddressInfo);
      });
    });
  }

  /** Stops taking requests, answers those in flight, then closes every connection. */
  drain(): Promise<void> {
    // close() stops listening at once; its callback comes once the last connection has closed.
    const closed = new Promise<void>((resolve) => this.http.close(() => resolve()));
    return this.inFlight.drain(
      () => this.http.closeIdleConnections(),
      () => {
        this.http.closeAllConnections();
        return closed;
      },
    );
  }

  private handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    return this.inFlight.track(async () => {
      // A client that goes away before its answer aborts its rows that have not started.
      const gone = new AbortController();
      res.on("close", () => {
        if (!res.writableFinished) gone.abort(new Error("the client disconnected"));
      });
      // The body's bytes count against the server's budget until the request is answered.
      const lease = this.options.budget.lease();
      try {
        await this.route(req, res, { lease, signal: gone.signal });
      } catch (error) {
        if (error instanceof BusyError && !res.headersSent) {
          res.setHeader("Retry-After", String(RETRY_AFTER_S));
          // The body is discarded unread; the connection ends with this answer.
          res.setHeader("Connection", "close");
        }
        if (error instanceof ProtocolError) this.reply(res, error.status, { error: error.message });
        else if (!gone.signal.aborted) {
          const message = error instanceof Error ? error.message : String(error);
          this.options.onError?.(`${req.method} ${req.url}: ${message}`);
          this.reply(res, 500, { error: message });
        }
      } finally {
        lease.release();
      }
    });
  }

  private async route(req: IncomingMessage, res: ServerResponse, { lease, signal }: RequestContext): Promise<void> {
    const url = new URL(req.url ?? "/", "http://localhost");
    const path = url.pathname.replace(/\/+$/, "");
    if (this.inFlight.draining) {
      res.setHeader("Connection", "close");
      throw shuttingDown();
    }
    if (path === "/v2/health/live") return this.status(req, res, lease);
    if (path === "/v2/health/ready") return this.status(req, res, lease);
    // The page holds no data: it asks for the token before its first search when there is one.
    if (path === "/search" && this.options.search) return this.send(res, 200, "text/html; charset=utf-8", Buffer.from(searchPageHtml("emb search")));
    if (path === "/v1/embeddings" || path === "/v1/models" || path.startsWith("/v1/models/")) return this.openAiRoute(req, res, path, { lease, signal });
    checkBearer(req.headers.authorization, this.options.token);
    if (path === "/v1/search" || path.startsWith("/v1/search/")) return this.searchRoute(req, res, path, lease);
    if (path === "/v2") return this.reply(res, 200, serverMetadata(this.options.version));
    if (path === "/metrics" && this.options.metrics) return this.metricsRoute(req, res, this.options.metrics);
    if (path === "/v2/models/stats") return this.reply(res, 200, { model_stats: this.models.statistics() });
    if (path === "/v2/repository/index") {
      await this.readBody(req, res, lease);
      return this.reply(res, 200, this.models.index());
    }
    const match = MODEL_ROUTE.exec(path);
    if (!match) throw new ProtocolError(`no route ${req.method} ${url.pathname}`, 404);
    const [, rawName, version, action] = match;
    const endpoint = this.models.find(decodeURIComponent(rawName), version);
    const expect = (method: string) => {
      if (req.method !== method) throw new ProtocolError(`${url.pathname} takes ${method}, not ${req.method}`, 405);
    };
    switch (action) {
      case undefined:
        expect("GET");
        return this.reply(res, 200, endpoint.metadata());
      case "ready":
        return this.status(req, res, lease);
      case "config":
        expect("GET");
        return this.reply(res, 200, endpoint.config());
      case "stats":
        expect("GET");
        return this.reply(res, 200, { model_stats: [endpoint.statistics.toJson(endpoint.name, endpoint.version)] });
      case "infer":
        expect("POST");
        return this.infer(req, res, endpoint, { lease, signal });
    }
  }

  /** The OpenAI-compatible routes, answering every failure (the token's included) with OpenAI's error object. */
  private async openAiRoute(req: IncomingMessage, res: ServerResponse, path: string, { lease, signal }: RequestContext): Promise<void> {
    try {
      checkBearer(req.headers.authorization, this.options.token);
      const openai = this.options.openai;
      if (!openai) throw new ProtocolError(`no route ${req.method} ${path}: this server has no embedding model (start it with --model siglip=...)`, 404);
      if (path === "/v1/embeddings") {
        if (req.method !== "POST") throw new ProtocolError(`${path} takes POST, not ${req.method}`, 405);
        return this.reply(res, 200, await openai.embeddings(await this.readBody(req, res, lease), signal));
      }
      if (req.method !== "GET") throw new ProtocolError(`${path} takes GET, not ${req.method}`, 405);
      const { data } = openai.models();
      if (path === "/v1/models") return this.reply(res, 200, openai.models());
      const wanted = decodeURIComponent(path.slice("/v1/models/".length));
      const model = data.find((m) => m.id === wanted);
      if (!model) throw new ProtocolError(`The model \`${wanted}\` does not exist on this server; it serves ${data[0].id}`, 404);
      return this.reply(res, 200, model);
    } catch (error) {
      if (error instanceof BusyError) throw error;
      const failure = openAiError(error);
      if (failure.status >= 500) this.options.onError?.(`${req.method} ${req.url}: ${failure.message}`);
      return this.reply(res, failure.status, failure.body());
    }
  }

  private async metricsRoute(req: IncomingMessage, res: ServerResponse, metrics: ServeMetrics): Promise<void> {
    if (req.method !== "GET") throw new ProtocolError(`/metrics takes GET, not ${req.method}`, 405);
    return this.send(res, 200, metrics.contentType, Buffer.from(await metrics.text()));
  }

  private async searchRoute(req: IncomingMessage, res: ServerResponse, path: string, lease: Lease): Promise<void> {
    const search = this.options.search;
    if (!search) throw new ProtocolError(`no route ${req.method} ${path}: this server has no index (start it with --index FOLDER)`, 404);
    const expect = (method: string) => {
      if (req.method !== method) throw new ProtocolError(`${path} takes ${method}, not ${req.method}`, 405);
    };
    if (path === "/v1/search/info") {
      expect("GET");
      return this.reply(res, 200, search.info());
    }
    if (path === "/v1/search") {
      expect("POST");
      const { query, k } = parseSearchRequest(await this.readBody(req, res, lease));
      return this.reply(res, 200, await search.search(query, k));
    }
    const thumbnail = THUMBNAIL_ROUTE.exec(path);
    if (!thumbnail) throw new ProtocolError(`no route ${req.method} ${path}`, 404);
    expect("GET");
    return this.send(res, 200, "image/jpeg", await search.thumbnail(Number(thumbnail[1])));
  }

  private async infer(req: IncomingMessage, res: ServerResponse, endpoint: ServedEndpoint, { lease, signal }: RequestContext): Promise<void> {
    const lengthHeader = req.headers[HEADER_LENGTH];
    let headerLength: number | undefined;
    if (lengthHeader !== undefined) {
      const text = Array.isArray(lengthHeader) ? lengthHeader[0] : lengthHeader;
      if (!/^\d+$/.test(text)) throw new ProtocolError(`Inference-Header-Content-Length must be a non-negative integer, not ${JSON.stringify(text)}`);
      headerLength = Number(text);
    }
    const body = await this.readBody(req, res, lease);
    const raw = endpoint.rawInput;
    const request = parseInferRequest(body, headerLength, raw && { name: raw.name, datatype: raw.datatype });
    const outputs = await endpoint.infer(request, signal);
    const encoded = encodeInferResponse(endpoint, request, outputs);
    if (encoded.headerLength !== undefined) {
      res.setHeader("Content-Type", "application/octet-stream");
      res.setHeader("Inference-Header-Content-Length", String(encoded.headerLength));
    } else res.setHeader("Content-Type", "application/json");
    res.setHeader("Content-Length", encoded.body.length);
    res.writeHead(200);
    res.end(encoded.body);
  }

  /**
   * The body, refusing one larger than the limit before reading it all, and one that does not
   * fit the server's budget (by its Content-Length before reading, else as its bytes arrive).
   */
  private readBody(req: IncomingMessage, res: ServerResponse, lease: Lease): Promise<Buffer> {
    const limit = this.options.maxBodyBytes;
    const given = req.headers["content-length"] !== undefined;
    const declared = Number(req.headers["content-length"] ?? 0);
    const refuse = (error: ProtocolError) => {
      // Discarded, not held: the answer can go out without waiting for the upload.
      req.resume();
      return Promise.reject(error);
    };
    if (declared > limit) return refuse(new ProtocolError(`the request body is ${declared} bytes; this server takes at most ${limit} (--max-body-mb)`, 413));
    try {
      lease.take(declared);
    } catch (error) {
      return refuse(error as ProtocolError);
    }
    if (/100-continue/i.test(req.headers.expect ?? "")) res.writeContinue();
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const stop = (error: ProtocolError) => {
        req.removeAllListeners("data");
        req.resume();
        reject(error);
      };
      req.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > limit) return stop(new ProtocolError(`the request body is over ${limit} bytes, the most this server takes (--max-body-mb)`, 413));
        try {
          // A body without Content-Length (chunked) takes its bytes as they come.
          if (!given) lease.take(chunk.length);
        } catch (error) {
          return stop(error as ProtocolError);
        }
        chunks.push(chunk);
      });
      req.on("end", () => resolve(Buffer.concat(chunks, size)));
      req.on("error", reject);
      // A client that goes away mid-upload: settle, so the request ends and its bytes are given back.
      req.on("close", () => {
        if (!req.complete) reject(new ProtocolError("the client disconnected before sending the whole body"));
      });
    });
  }

  private async status(req: IncomingMessage, res: ServerResponse, lease: Lease): Promise<void> {
    await this.readBody(req, res, lease);
    res.writeHead(200, { "Content-Length": 0 });
    res.end();
  }

  private reply(res: ServerResponse, code: number, body: unknown): void {
    this.send(res, code, "application/json", Buffer.from(JSON.stringify(body)));
  }

  private send(res: ServerResponse, code: number, type: string, data: Buffer): void {
    if (res.headersSent || res.destroyed) return;
    res.writeHead(code, { "Content-Type": type, "Content-Length": data.length });
    res.end(data);
  }
}
