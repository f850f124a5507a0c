/**
 * `emb serve` from start to stop: opens the models, builds their endpoints over one preparation
 * pool, listens over gRPC and HTTP (warning when that is beyond this machine without a token),
 * and on SIGTERM or SIGINT drains both servers before the pool and the models are released.
 */
import { isIP, type AddressInfo } from "node:net";
import type { BatcherOptions } from "../batching/batcher.js";
import type { GenerationOverrides } from "../generation/settings.js";
import type { DecodeOptions } from "../image/decode.js";
import { PreparePool } from "../image/prepare-pool.js";
import { ModelCapabilityError } from "../models/families.js";
import type { Role, RoleModel } from "../models/registry.js";
import type { TextEmbedder } from "../models/types.js";
import { versions } from "../version.js";
import { ByteBudget } from "./budget.js";
import { GrpcInferenceServer } from "./grpc.js";
import type { ServedEndpoint } from "./endpoint.js";
import { buildEndpoints, loadedModels, type BatcherName, type Family, type OpenedModels } from "./launch.js";
import { MetricsServer, ServeMetrics } from "./metrics.js";
import { OpenAiEmbeddings } from "./openai.js";
import { FolderSearch, type IndexHooks } from "./search.js";
import { InferenceServer } from "./server.js";

export interface ServeOptions {
  /** The families to load and where from (parseModelSpecs). */
  models: Map<Family, string>;
  batchers: Record<BatcherName, BatcherOptions>;
  /** Image preparation worker threads, shared by every model. */
  workers: number;
  decode: DecodeOptions;
  /** florence2's generation settings over its generation_config.json; read only when it is loaded. */
  generation?: GenerationOverrides;
  host: string;
  port: number;
  /** The gRPC port; undefined serves HTTP only. */
  grpcPort?: number;
  /** Triton's separate metrics port (unauthenticated, GET /metrics only); undefined serves /metrics on the HTTP port alone. */
  metricsPort?: number;
  /** Largest HTTP request body or gRPC message, in bytes. */
  maxBytes: number;
  /** Request bytes all requests together may hold at once (HTTP bodies and gRPC messages); at least maxBytes. */
  maxInflightBytes: number;
  /** The bearer token every request but the health probes must carry. */
  token?: string;
  /** An `emb embed image` folder (or one job's shards) to search at /v1/search, with a page at /search. */
  index?: string[];
}

export interface ServeHooks {
  /** Opens the model filling `role` from `model` (a directory or hub id). */
  open<R extends Role>(role: R, model: string): Promise<RoleModel[R]>;
  /** A line about the server's state (where it listens, that it stops). */
  log(message: string): void;
  /** A request that failed inside the server (answered with an internal error), or a risky setting. */
  warn(message: string): void;
  /** A port could not be bound; does not return. */
  cannotListen(error: Error): never;
  /** Opens an --index folder's own model. */
  index: IndexHooks;
}

const hostPort = (host: string, port: number) => `${host.includes(":") ? `[${host}]` : host}:${port}`;

/** Serves until SIGTERM or SIGINT, then answers the requests in flight and releases everything. */
export async function runServe(options: ServeOptions, hooks: ServeHooks): Promise<void> {
  const opened = await openModels(options, hooks);
  const search = options.index
    ? await FolderSearch.open(options.index, hooks.index, options.decode, "exact", { onNotice: (line) => hooks.log(`emb serve: ${line}`) })
    : undefined;
  const pool = new PreparePool(options.workers);
  const endpoints = buildEndpoints(opened, options.batchers, { pool, workers: options.workers, decode: options.decode });
  const budget = new ByteBudget(options.maxInflightBytes);
  const service = { token: options.token, version: versions().emb, budget, onError: (m: string) => hooks.warn(m) };
  const openai = openAiApi(options, opened, endpoints);
  const metrics = new ServeMetrics(endpoints);
  const server = new InferenceServer(endpoints, { ...service, maxBodyBytes: options.maxBytes, search, openai, metrics });
  const metricsServer = options.metricsPort === undefined ? undefined : new MetricsServer(metrics);
  const grpcPort = options.grpcPort;
  const grpc = grpcPort === undefined ? undefined : new GrpcInferenceServer(endpoints, { ...service, maxMessageBytes: options.maxBytes });
  let address: AddressInfo;
  try {
    if (grpc) hooks.log(`emb serve: gRPC on ${hostPort(options.host, await grpc.listen(grpcPort!, options.host))}`);
    if (metricsServer) {
      const at = await metricsServer.listen(options.metricsPort!, options.host);
      hooks.log(`emb serve: metrics on http://${hostPort(at.address, at.port)}/metrics (no token)`);
    }
    address = await server.listen(options.port, options.host);
  } catch (error) {
    hooks.cannotListen(error as Error);
  }
  if (!options.token && !isLoopback(address.address)) {
    hooks.warn(
      `--host ${options.host} without a token lets anyone who can reach this machine run the models; set one with --token-file FILE or EMB_SERVE_TOKEN`,
    );
  }
  const url = `http://${hostPort(address.address, address.port)}`;
  if (search) {
    const { rows, folder } = search.info();
    hooks.log(`emb serve: searching ${rows} images of ${folder}: page ${url}/search, API POST ${url}/v1/search`);
  }
  hooks.log(`emb serve: listening on ${url} (models: ${endpoints.map((e) => e.name).join(", ") || "none"})`);

  const signal = await new Promise<string>((resolve) => {
    process.once("SIGTERM", () => resolve("SIGTERM"));
    process.once("SIGINT", () => resolve("SIGINT"));
  });
  hooks.log(`emb serve: ${signal}: answering the requests in flight, then stopping`);
  await Promise.all([server.drain(), grpc?.drain(), metricsServer?.close()]);
  await pool.close();
  for (const model of loadedModels(opened)) await model.release();
  await search?.release();
  hooks.log("emb serve: stopped");
}

/** The OpenAI-compatible API over the embedding model's embed_text and embed_image endpoints, when one is served. */
function openAiApi(options: ServeOptions, opened: OpenedModels, endpoints: ServedEndpoint[]): OpenAiEmbeddings | undefined {
  const spec = options.models.get("siglip");
  if (!spec || !opened.siglip) return undefined;
  const named = (name: string) => endpoints.find((e) => e.name === name)!;
  const { text, image } = opened.siglip;
  return new OpenAiEmbeddings({
    spec,
    text: text && { endpoint: named("embed_text"), model: text },
    image: named("embed_image"),
    dim: image.dim,
  });
}

/** 127.0.0.0/8 and ::1 (IPv4-mapped too): addresses only this machine reaches. */
export function isLoopback(address: string): boolean {
  const v4 = address.toLowerCase().startsWith("::ffff:") ? address.slice(7) : address;
  if (isIP(v4) === 4) return v4.startsWith("127.");
  return address === "::1";
}

/** The model's text tower; none for an image-only model (DINOv2), which serves the image endpoints alone. */
async function openText(hooks: ServeHooks, spec: string): Promise<TextEmbedder | undefined> {
  try {
    return await hooks.open("text-embedder", spec);
  } catch (error) {
    if (error instanceof ModelCapabilityError) return undefined;
    throw error;
  }
}

async function openModels(options: ServeOptions, hooks: ServeHooks): Promise<OpenedModels> {
  const opened: OpenedModels = {};
  const siglip = options.models.get("siglip");
  if (siglip) {
    const image = await hooks.open("image-embedder", siglip);
    opened.siglip = { image, text: await openText(hooks, siglip) };
  }
  const florence = options.models.get("florence2");
  if (florence) {
    const model = await hooks.open("image-to-text", florence);
    opened.florence2 = { model, settings: model.settings(options.generation) };
  }
  return opened;
}
