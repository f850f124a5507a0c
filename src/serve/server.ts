/**
 * The HTTP side of `emb serve`: the KServe v2 / Triton routes (health, server and model
 * metadata, model config, statistics, infer) over the served endpoints. Safe by default: bodies
 * have a size limit, a bad request gets a 400 with `{"error": ...}` and never stops the server,
 * an optional bearer token guards everything but the health probes, and `drain()` finishes the
 * requests in flight before closing.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { InFlight, shuttingDown } from "./drain.js";
import type { ServedEndpoint } from "./endpoint.js";
import { encodeInferResponse, parseInferRequest, ProtocolError } from "./protocol.js";
import { checkBearer, ServedModels, serverMetadata, type ServiceOptions } from "./service.js";

export interface ServerOptions extends ServiceOptions {
  /** Largest request body accepted, in bytes. */
  maxBodyBytes: number;
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
      try {
        await this.route(req, res, gone.signal);
      } catch (error) {
        if (error instanceof ProtocolError) this.reply(res, error.status, { error: error.message });
        else if (!gone.signal.aborted) {
          const message = error instanceof Error ? error.message : String(error);
          this.options.onError?.(`${req.method} ${req.url}: ${message}`);
          this.reply(res, 500, { error: message });
        }
      }
    });
  }

  private async route(req: IncomingMessage, res: ServerResponse, signal: AbortSignal): Promise<void> {
    const url = new URL(req.url ?? "/", "http://localhost");
    const path = url.pathname.replace(/\/+$/, "");
    if (this.inFlight.draining) {
      res.setHeader("Connection", "close");
      throw shuttingDown();
    }
    if (path === "/v2/health/live") return this.status(req, res, 200);
    if (path === "/v2/health/ready") return this.status(req, res, 200);
    checkBearer(req.headers.authorization, this.options.token);
    if (path === "/v2") return this.reply(res, 200, serverMetadata(this.options.version));
    if (path === "/v2/models/stats") return this.reply(res, 200, { model_stats: this.models.statistics() });
    if (path === "/v2/repository/index") {
      await this.readBody(req);
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
        return this.status(req, res, 200);
      case "config":
        expect("GET");
        return this.reply(res, 200, endpoint.config());
      case "stats":
        expect("GET");
        return this.reply(res, 200, { model_stats: [endpoint.statistics.toJson(endpoint.name, endpoint.version)] });
      case "infer":
        expect("POST");
        return this.infer(req, res, endpoint, signal);
    }
  }

  private async infer(req: IncomingMessage, res: ServerResponse, endpoint: ServedEndpoint, signal: AbortSignal): Promise<void> {
    const lengthHeader = req.headers[HEADER_LENGTH];
    let headerLength: number | undefined;
    if (lengthHeader !== undefined) {
      const text = Array.isArray(lengthHeader) ? lengthHeader[0] : lengthHeader;
      if (!/^\d+$/.test(text)) throw new ProtocolError(`Inference-Header-Content-Length must be a non-negative integer, not ${JSON.stringify(text)}`);
      headerLength = Number(text);
    }
    const body = await this.readBody(req);
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

  /** The body, refusing one larger than the limit before reading it all. */
  private readBody(req: IncomingMessage): Promise<Buffer> {
    const limit = this.options.maxBodyBytes;
    const declared = Number(req.headers["content-length"] ?? 0);
    if (declared > limit) {
      req.resume();
      return Promise.reject(new ProtocolError(`the request body is ${declared} bytes; this server takes at most ${limit} (--max-body-mb)`, 413));
    }
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > limit) {
          req.removeAllListeners("data");
          req.resume();
          reject(new ProtocolError(`the request body is over ${limit} bytes, the most this server takes (--max-body-mb)`, 413));
          return;
        }
        chunks.push(chunk);
      });
      req.on("end", () => resolve(Buffer.concat(chunks, size)));
      req.on("error", reject);
    });
  }

  private async status(req: IncomingMessage, res: ServerResponse, code: number): Promise<void> {
    await this.readBody(req);
    res.writeHead(code, { "Content-Length": 0 });
    res.end();
  }

  private reply(res: ServerResponse, code: number, body: unknown): void {
    if (res.headersSent || res.destroyed) return;
    const data = Buffer.from(JSON.stringify(body));
    res.writeHead(code, { "Content-Type": "application/json", "Content-Length": data.length });
    res.end(data);
  }
}
