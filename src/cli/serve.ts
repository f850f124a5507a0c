/** `emb serve`'s flag values as the options of runServe (src/serve/lifecycle.ts). */
import { availableParallelism } from "node:os";
import { batcherSettingsFor, parseModelSpecs, ServeSetupError } from "../serve/launch.js";
import type { ServeOptions } from "../serve/lifecycle.js";
import { UsageError } from "./errors.js";
import { decodeOptions, generationOverrides } from "./flags.js";
import { readBearerToken } from "./run-support.js";

export type ServeFlagValues = Parameters<typeof generationOverrides>[0] &
  Parameters<typeof decodeOptions>[0] & {
    model: string[];
    "batcher-config": string[];
    "batch-size"?: number;
    "max-queue-delay-us": number;
    "token-file"?: string;
    workers?: number;
    host: string;
    port: number;
    "grpc-port": number;
    grpc: boolean;
    "max-body-mb": number;
  };

/** The options; a bad --model or --batcher-config is a usage error, a bad --token-file a RangeError. */
export function serveOptions(flags: ServeFlagValues): ServeOptions {
  let models, batching;
  try {
    models = parseModelSpecs(flags.model);
    batching = batcherSettingsFor(flags["batcher-config"], { batchSize: flags["batch-size"], maxQueueDelayUs: flags["max-queue-delay-us"] });
  } catch (error) {
    if (error instanceof ServeSetupError) throw new UsageError(error.message);
    throw error;
  }
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
    maxBytes: flags["max-body-mb"] * 1024 * 1024,
    token,
  };
}
