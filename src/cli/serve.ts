/** `emb serve`'s flag values as the options of runServe (src/serve/lifecycle.ts). */
import { availableParallelism } from "node:os";
import { batcherSettingsFor, parseModelSpecs, ServeSetupError } from "../serve/launch.js";
import type { ServeOptions } from "../serve/lifecycle.js";
import { UsageError } from "./errors.js";
import { decodeOptions, generationOverrides } from "./flags.js";
import { readBearerToken } from "./run-support.js";

export type ServeFlagValues = Parameters<typeof generationOverrides>[0] &
  Parameters<typeof decodeOptions>[0] & {
    model?: string[];
    index?: string[];
    "batcher-config": string[];
    "batch-size"?: number;
    "max-queue-delay-us": number;
    "token-file"?: string;
    workers?: number;
    host: string;
    port: number;
    "grpc-port": number;
    grpc: boolean;
    "metrics-port": number;
    "no-metrics-port"?: boolean;
    "max-body-mb": number;
    "max-inflight-mb"?: number;
  };

/** How many bodies at the per-body limit the server holds at once when --max-inflight-mb is not given. */
const INFLIGHT_BODIES = 4;

/** The options; a bad --model or --batcher-config is a usage error, a bad --token-file a RangeError. */
export function serveOptions(flags: ServeFlagValues): ServeOptions {
  let models, batching;
  try {
    // --index alone serves search only; otherwise the default is the SigLIP endpoints
    models = parseModelSpecs(flags.model ?? (flags.index ? [] : ["siglip"]));
    batching = batcherSettingsFor(flags["batcher-config"], { batchSize: flags["batch-size"], maxQueueDelayUs: flags["max-queue-delay-us"] });
  } catch (error) {
    if (error instanceof ServeSetupError) throw new UsageError(error.message);
    throw error;
  }
  const inflight = flags["max-inflight-mb"] ?? INFLIGHT_BODIES * flags["max-body-mb"];
  // A smaller budget would refuse the largest bodies even on an idle server.
  if (inflight < flags["max-body-mb"])
    throw new UsageError(`--max-inflight-mb ${inflight} is below --max-body-mb ${flags["max-body-mb"]}; give at least ${flags["max-body-mb"]}`);
  // An empty token would otherwise mean no token at all: a server open to all by a typo.
  if (flags["token-file"] === undefined && process.env.EMB_SERVE_TOKEN !== undefined && process.env.EMB_SERVE_TOKEN.trim() === "")
    throw new UsageError("EMB_SERVE_TOKEN is set but empty; set it to the token clients must send, or unset it to serve without one");
  const token = readBearerToken(flags["token-file"]);
  return {
    models,
    batchers: batching.batchers,
    workers: batching.workers ?? flags.workers ?? availableParallelism(),
    decode: decodeOptions(flags),
    // Only florence2 generates: the generation flags mean nothing to a server without it.
    generation: models.has("florence2") ? generationOverrides(flags) : undefined,
    host: flags.host,
    port: flags.port,
    grpcPort: flags.grpc ? flags["grpc-port"] : undefined,
    metricsPort: flags["no-metrics-port"] ? undefined : flags["metrics-port"],
    maxBytes: flags["max-body-mb"] * 1024 * 1024,
    maxInflightBytes: inflight * 1024 * 1024,
    token,
    index: flags.index,
  };
}
