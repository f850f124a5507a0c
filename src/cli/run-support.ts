/** Pieces every model-running command needs: opening models with download bars, the serve token. */
import { readFileSync } from "node:fs";
import { DtypeSpecError, type DtypeSpec } from "../models/common/variants.js";
import { type ModelOptions, registryOptions } from "../models/options.js";
import {
  identifyModel,
  openMatcher,
  openModel,
  parseDtype,
  type ModelSource,
  type Opened,
  type OpenOptions,
  type Role,
  type RoleModel,
} from "../models/registry.js";
import type { LogitParameters } from "../models/types.js";
import type { Device, SessionOptions } from "../runtime/session.js";
import type { FolderModel } from "../jobs/search.js";
import { downloadBars } from "./progress.js";

/** The model flags' values (modelFlags in flags.ts). */
export interface ModelFlagValues {
  model?: string;
  dtype: string;
  device: string;
  threads: number;
  revision: string;
  offline: boolean;
  /** --no-lowercase, for commands that tokenise captions (textFlags). */
  lowercase?: boolean;
  /** --pooling and --max-num-patches, for commands that embed images (imageModelFlags). */
  pooling?: string;
  "max-num-patches"?: number;
}

/** `--dtype` for a role's family; a bad value is a usage error naming the valid ones. */
export function dtypeFromFlags(role: Role, text: string, usageError: (message: string) => never): DtypeSpec {
  return dtypeErrorsAsUsage(usageError, () => parseDtype(role, text));
}

function dtypeErrorsAsUsage<T>(usageError: (message: string) => never, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof DtypeSpecError) usageError(error.message);
    throw error;
  }
}

/** The registry's options for the model flags, by the translation the API uses; download progress is added per open. */
function openOptions(role: Role, flags: ModelFlagValues, usageError: (message: string) => never): OpenOptions {
  return dtypeErrorsAsUsage(usageError, () =>
    registryOptions(role, {
      ...flags,
      device: flags.device as Device,
      pooling: flags.pooling as ModelOptions["pooling"],
      maxNumPatches: flags["max-num-patches"],
    }),
  );
}

async function withDownloadBars<T>(showProgress: boolean, open: (onDownload: OpenOptions["onDownload"]) => Promise<T>): Promise<T> {
  const bars = downloadBars(showProgress);
  try {
    return await open(bars ? (file, received, total) => bars.update(file, received, total) : undefined);
  } finally {
    bars?.stop();
  }
}

/** Opens the model filling `role` as the model flags say, showing download progress; `session` adds to the flags' session options (e.g. a profile). */
export async function openFromFlags<R extends Role>(
  role: R,
  flags: ModelFlagValues,
  showProgress: boolean,
  usageError: (message: string) => never,
  session: Partial<SessionOptions> = {},
): Promise<Opened<RoleModel[R]>> {
  const options = openOptions(role, flags, usageError);
  return withDownloadBars(showProgress, (onDownload) => openModel(role, { ...options, session: { ...options.session, ...session }, onDownload }));
}

/** The model flags opening an embeddings folder's own model (as its run.json records it), run on `run`'s device and threads. */
export function folderModelFlags(model: FolderModel, run: { device: string; threads: number; offline: boolean }): ModelFlagValues {
  return {
    model: model.model,
    revision: model.revision,
    dtype: model.dtype,
    device: run.device,
    threads: run.threads,
    offline: run.offline,
    pooling: model.pooling,
    "max-num-patches": model.maxNumPatches,
  };
}

/** What identifies the model filling `role` as the model flags say, without loading it. */
export async function identifyFromFlags(
  role: Role,
  flags: ModelFlagValues,
  showProgress: boolean,
  usageError: (message: string) => never,
): Promise<ModelSource> {
  const options = openOptions(role, flags, usageError);
  return withDownloadBars(showProgress, (onDownload) => identifyModel(role, { ...options, onDownload }));
}

/** Both embedders and the image-text logit parameters (read from the model unless given). */
export async function openMatcherFromFlags(
  flags: ModelFlagValues,
  given: LogitParameters | undefined,
  showProgress: boolean,
  usageError: (message: string) => never,
): ReturnType<typeof openMatcher> {
  const options = openOptions("image-embedder", flags, usageError);
  return withDownloadBars(showProgress, (onDownload) => openMatcher({ ...options, onDownload }, given));
}

/** The bearer token: --token-file's content, else EMB_SERVE_TOKEN, else none. A RangeError (usage) for an unreadable or empty file. */
export function readBearerToken(file: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (file === undefined) return env.EMB_SERVE_TOKEN || undefined;
  let text: string;
  try {
    text = readFileSync(file, "utf8").trim();
  } catch (error) {
    throw new RangeError(`--token-file ${file}: ${(error as Error).message}`);
  }
  if (text === "") throw new RangeError(`--token-file ${file} is empty`);
  return text;
}
