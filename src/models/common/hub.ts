/**
 * Model resolution: a local directory, or a hub repository downloaded into the standard
 * Hugging Face cache (`<cache>/models--org--name/{blobs,snapshots,refs}`), so files the Python
 * tools already fetched are reused and ours are reused by them.
 *
 * Settings follow huggingface_hub: HF_ENDPOINT, HF_HUB_CACHE / HF_HOME / XDG_CACHE_HOME,
 * HF_HUB_OFFLINE, and the token as huggingface_hub's get_token() finds it (see hubToken).
 */
import { downloadFileToCacheDir, modelInfo } from "@huggingface/hub";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { modelFiles, ModelLayoutError } from "./layout.js";

export interface HubOptions {
  endpoint?: string;
  cacheDir?: string;
  offline?: boolean;
  revision?: string;
  token?: string;
  /** Called as bytes arrive: the file, bytes so far, and its size when known. */
  onProgress?: (file: string, received: number, total: number | undefined) => void;
}

export interface ResolvedModel {
  dir: string;
  source: "local" | "cache" | "hub";
  repo?: string;
  commit?: string;
  /** The files the model needs, relative to `dir`: what its weights identity is computed over. */
  files: string[];
}

/** Chooses which repository files a model needs, given every file the repository holds. */
export type FilePicker = (available: string[]) => string[];

export class ModelNotFoundError extends Error {}

const HUB_ID = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;
const COMMIT = /^[0-9a-f]{40}$/;

/** `~` or `~/...` at the start of a path, as Python's os.path.expanduser reads it. */
function expandHome(path: string): string {
  return path === "~" || path.startsWith("~/") ? join(homedir(), path.slice(1)) : path;
}

/** HF_HOME: default $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface. */
export function hfHome(env: NodeJS.ProcessEnv = process.env): string {
  return expandHome(env.HF_HOME || join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "huggingface"));
}

export type HubTokenSource = "HF_TOKEN" | "HUGGING_FACE_HUB_TOKEN" | "HF_TOKEN_PATH" | "HF_HOME/token";

/** Trims a token as huggingface_hub does (line breaks removed, whitespace trimmed); empty is none. */
function cleanToken(token: string | undefined): string | undefined {
  if (token === undefined) return undefined;
  return token.replace(/[\r\n]/g, "").trim() || undefined;
}

/**
 * The hub token as huggingface_hub's get_token() finds it: the environment variable HF_TOKEN (or
 * the older HUGGING_FACE_HUB_TOKEN), else the file at HF_TOKEN_PATH, default $HF_HOME/token (what
 * `hf auth login` writes). A missing file is no token; an unreadable one is an error.
 */
export function hubToken(env: NodeJS.ProcessEnv = process.env): { token: string; source: HubTokenSource; path?: string } | undefined {
  const fromEnv = env.HF_TOKEN || env.HUGGING_FACE_HUB_TOKEN;
  const cleaned = cleanToken(fromEnv);
  if (cleaned) return { token: cleaned, source: env.HF_TOKEN ? "HF_TOKEN" : "HUGGING_FACE_HUB_TOKEN" };
  const path = env.HF_TOKEN_PATH ? expandHome(env.HF_TOKEN_PATH) : join(hfHome(env), "token");
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new Error(`cannot read the Hugging Face token file ${path} (${(error as Error).message})`);
  }
  const token = cleanToken(text);
  return token ? { token, source: env.HF_TOKEN_PATH ? "HF_TOKEN_PATH" : "HF_HOME/token", path } : undefined;
}

export function hubSettings(options: HubOptions = {}) {
  const env = process.env;
  const home = hfHome(env);
  const offlineEnv = (env.HF_HUB_OFFLINE ?? "").toLowerCase();
  return {
    endpoint: (options.endpoint ?? env.HF_ENDPOINT ?? "https://huggingface.co").replace(/\/+$/, ""),
    cacheDir: options.cacheDir ?? env.HF_HUB_CACHE ?? join(home, "hub"),
    offline: options.offline ?? ["1", "true", "yes", "on"].includes(offlineEnv),
    revision: options.revision ?? "main",
    ...tokenSetting(options.token, env),
  };
}

/** The token to send and where it came from (for error messages). */
function tokenSetting(explicit: string | undefined, env: NodeJS.ProcessEnv): { token?: string; tokenFrom?: string } {
  if (explicit) return { token: explicit, tokenFrom: "the token option" };
  const found = hubToken(env);
  if (!found) return {};
  return { token: found.token, tokenFrom: found.path ?? found.source };
}

export async function resolveModel(spec: string, choose: FilePicker, options: HubOptions = {}): Promise<ResolvedModel> {
  // A layout error names the model it is about: the picker only sees file names.
  const pick: FilePicker = (files) => {
    try {
      return choose(files);
    } catch (error) {
      if (error instanceof ModelLayoutError) throw new ModelLayoutError(`${spec}: ${error.message}`);
      throw error;
    }
  };
  if (existsSync(spec) && statSync(spec).isDirectory()) {
    const files = pick(modelFiles(spec));
    const missing = files.filter((f) => !existsSync(join(spec, f)));
    if (missing.length > 0) throw new ModelNotFoundError(`model directory ${spec} lacks ${missing.join(", ")}`);
    return { dir: spec, source: "local", files };
  }
  if (!HUB_ID.test(spec)) {
    throw new ModelNotFoundError(`model '${spec}' is neither a directory nor a hub id like org/name; pass --model with a model directory or a hub repository`);
  }
  const settings = hubSettings(options);
  const storage = join(settings.cacheDir, `models--${spec.replace("/", "--")}`);
  if (settings.offline) {
    const cached = fromCache(storage, settings.revision, pick);
    if (!cached) {
      throw new ModelNotFoundError(
        `model ${spec} is not in the Hugging Face cache at ${settings.cacheDir} and offline mode is on (HF_HUB_OFFLINE); download it once online or pass a local directory with --model`,
      );
    }
    return { ...cached, repo: spec };
  }
  try {
    return { ...(await download(spec, storage, pick, settings, options.onProgress)), repo: spec };
  } catch (error) {
    if (error instanceof ModelNotFoundError || error instanceof ModelLayoutError) throw error;
    const cached = fromCache(storage, settings.revision, pick);
    if (cached) return { ...cached, repo: spec };
    const reason = describe(error);
    const status = (error as { statusCode?: number }).statusCode;
    if (status === 401 || status === 403) {
      const given = settings.tokenFrom
        ? `the token from ${settings.tokenFrom} was refused: accept the model's terms on its hub page with that account, or use a token that has access`
        : "no token was found; accept the model's terms on its hub page, then set HF_TOKEN, or log in with `hf auth login` (it writes $HF_HOME/token, default ~/.cache/huggingface/token; HF_TOKEN_PATH names another file)";
      throw new ModelNotFoundError(
        `model ${spec} at ${settings.endpoint} needs a Hugging Face token with access to it (HTTP ${status}: gated or private repository): ${given}`,
      );
    }
    throw new ModelNotFoundError(
      `could not download ${spec} from ${settings.endpoint} (${reason}); pass a local model directory with --model, set HF_ENDPOINT to a reachable mirror, or download it once where the hub is reachable`,
    );
  }
}

async function download(
  repo: string,
  storage: string,
  pick: FilePicker,
  settings: ReturnType<typeof hubSettings>,
  onProgress: HubOptions["onProgress"],
): Promise<ResolvedModel> {
  const credentials = settings.token ? { accessToken: settings.token } : {};
  let info: { sha?: string; filePaths?: string[] };
  try {
    info = (await modelInfo({
      name: repo,
      hubUrl: settings.endpoint,
      revision: settings.revision,
      additionalFields: ["sha", "filePaths"],
      ...credentials,
    })) as { sha?: string; filePaths?: string[] };
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) {
      throw new ModelNotFoundError(`model ${repo} (revision ${settings.revision}) was not found at ${settings.endpoint}`);
    }
    throw error;
  }
  const commit = info.sha;
  if (!commit || !COMMIT.test(commit)) throw new Error(`the hub gave no commit for ${repo}@${settings.revision}`);
  const files = pick(info.filePaths ?? []);
  for (const file of files) {
    await quietly(() =>
      downloadFileToCacheDir({
        repo,
        path: file,
        revision: commit, // one snapshot folder for every file, so weights sit beside their graph
        hubUrl: settings.endpoint,
        cacheDir: settings.cacheDir,
        fetch: onProgress ? countingFetch(file, onProgress) : undefined,
        ...credentials,
      }),
    );
  }
  mkdirSync(join(storage, "refs"), { recursive: true });
  if (!COMMIT.test(settings.revision)) writeFileSync(join(storage, "refs", settings.revision), commit);
  return { dir: join(storage, "snapshots", commit), source: "hub", commit, files };
}

function fromCache(storage: string, revision: string, pick: FilePicker): ResolvedModel | undefined {
  const ref = join(storage, "refs", revision);
  const commit = COMMIT.test(revision) ? revision : existsSync(ref) ? readFileSync(ref, "utf8").trim() : undefined;
  if (!commit) return undefined;
  const dir = join(storage, "snapshots", commit);
  if (!existsSync(dir)) return undefined;
  let wanted: string[];
  try {
    wanted = pick(modelFiles(dir));
  } catch {
    return undefined;
  }
  if (wanted.some((f) => !existsSync(join(dir, f)))) return undefined;
  return { dir, source: "cache", commit, files: wanted };
}

/** A fetch that reports the bytes of full-file downloads as they stream in. */
function countingFetch(file: string, onProgress: NonNullable<HubOptions["onProgress"]>): typeof fetch {
  return async (input, init) => {
    const response = await fetch(input, init);
    const headers = new Headers(init?.headers);
    if (!response.body || headers.has("Range") || !response.ok) return response;
    const total = Number(response.headers.get("content-length")) || undefined;
    let received = 0;
    const counter = new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        received += chunk.byteLength;
        onProgress(file, received, total);
        controller.enqueue(chunk);
      },
    });
    return new Response(response.body.pipeThrough(counter), {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  };
}

/** The hub library prints a debug line per download to stdout; keep stdout for results. */
async function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const debug = console.debug;
  console.debug = () => {};
  try {
    return await fn();
  } finally {
    console.debug = debug;
  }
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ? `${error.message}: ${cause.code}` : error.message;
}
