/**
 * What the HTTP (server.ts) and gRPC (grpc.ts) sides of `emb serve` answer alike: the served
 * models found by name and version, the server's metadata and repository index, and the bearer
 * token check. Failures are ProtocolErrors, each side answering them in its own way.
 */
import { timingSafeEqual } from "node:crypto";
import type { ByteBudget } from "./budget.js";
import type { ServedEndpoint } from "./endpoint.js";
import { ProtocolError } from "./protocol.js";

export interface ServiceOptions {
  /** When set, requests other than health probes need `Authorization: Bearer <token>`. */
  token?: string;
  version: string;
  /** Request bytes held at once, shared by the HTTP and gRPC sides. */
  budget: ByteBudget;
  /** Server-side failures (not the client's): logged, answered with a 500 or INTERNAL. */
  onError?: (message: string) => void;
}

export class ServedModels {
  private readonly byName: Map<string, ServedEndpoint>;

  constructor(endpoints: ServedEndpoint[]) {
    this.byName = new Map(endpoints.map((e) => [e.name, e]));
  }

  all(): ServedEndpoint[] {
    return [...this.byName.values()];
  }

  /** The model `name`; `version` undefined or empty is its only version. ProtocolError 404 when there is none. */
  find(name: string, version?: string): ServedEndpoint {
    const endpoint = this.byName.get(name);
    if (!endpoint) throw new ProtocolError(`unknown model "${name}"; this server has ${[...this.byName.keys()].join(", ")}`, 404);
    if (version && version !== endpoint.version) throw new ProtocolError(`model "${name}" has no version ${version}; it has version ${endpoint.version}`, 404);
    return endpoint;
  }

  /** Statistics of one model, or of every model when `name` is undefined or empty. */
  statistics(name?: string, version?: string): Record<string, unknown>[] {
    const endpoints = name ? [this.find(name, version)] : this.all();
    return endpoints.map((e) => e.statistics.toJson(e.name, e.version));
  }

  index(): { name: string; version: string; state: string }[] {
    return this.all().map((e) => ({ name: e.name, version: e.version, state: "READY" }));
  }
}

/** Server metadata (GET /v2, gRPC ServerMetadata). */
export function serverMetadata(version: string): { name: string; version: string; extensions: string[] } {
  return { name: "emb", version, extensions: ["binary_tensor_data", "statistics", "model_configuration", "model_repository"] };
}

/** Checks an Authorization header or metadata value against the token, when there is one (ProtocolError 401). */
export function checkBearer(authorization: string | undefined, token: string | undefined): void {
  if (!token) return;
  const given = /^Bearer (.+)$/i.exec(authorization ?? "")?.[1] ?? "";
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  if (a.length !== b.length || !timingSafeEqual(a, b)) throw new ProtocolError("missing or wrong bearer token (send Authorization: Bearer <token>)", 401);
}
