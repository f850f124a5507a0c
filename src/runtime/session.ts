/**
 * The only module that talks to onnxruntime-node: opens sessions on an execution provider,
 * converts tensors in and out, and turns provider failures into errors that say what to do.
 */
import { checkCommandLineLength } from "./command-line.js";
import { existsSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as ort from "onnxruntime-node";
import { float16ToFloat32, float32ToFloat16 } from "./float16.js";

export const DEVICES = ["auto", "cpu", "cuda", "webgpu"] as const;
export type Device = (typeof DEVICES)[number];
export type Provider = Exclude<Device, "auto">;

export interface SessionOptions {
  device?: Device;
  /** Threads for one operator (intra-op); 0 lets onnxruntime choose (all cores). */
  threads?: number;
  /** How onnxruntime holds memory for this graph; adapters choose per graph. */
  memory?: MemoryOptions;
  /** Record every kernel run (onnxruntime's profiler) into a JSON file named from this prefix, written at release. */
  profilePrefix?: string;
}

export interface MemoryOptions {
  /**
   * Keep freed buffers in onnxruntime's arena for reuse (its default). The arena never returns
   * memory, so a graph run once on large activations, or on shapes that change every call, keeps
   * its peak for the life of the session.
   */
  arena?: boolean;
  /**
   * Repack weight matrices at load for the matrix-product kernels (its default). The packed copy
   * sits beside the original: a graph whose products have many rows gains little from it.
   */
  prepack?: boolean;
}

export interface InputSpec {
  name: string;
  type: string;
  shape: readonly (number | string)[];
}

export class ProviderUnavailableError extends Error {}

const PROVIDER_HINTS: Record<Provider, string> = {
  cpu: "",
  cuda: "install onnxruntime-node's CUDA 12 provider with `ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js` (needs CUDA 12 and cuDNN 9), or use --device cpu",
  webgpu: "WebGPU needs a GPU with Vulkan drivers (libvulkan.so.1); use --device cpu or --device cuda",
};

/** How every session is opened on `provider`; `threads` 0 or undefined lets onnxruntime choose. */
export function sessionOptions(provider: Provider, threads?: number, memory: MemoryOptions = {}): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [provider],
    intraOpNumThreads: threads ?? 0,
    enableCpuMemArena: memory.arena ?? true,
    extra: {
      session: {
        // Idle inference threads sleep instead of spinning: they share the cores with decoding.
        intra_op: { allow_spinning: "0" },
        inter_op: { allow_spinning: "0" },
        ...(memory.prepack === false ? { disable_prepacking: "1" } : {}),
      },
    },
    // Probing a provider that is not installed logs native errors; the thrown one is enough.
    logSeverityLevel: provider === "cpu" ? 2 : 4,
  };
}

/** An open model graph on one execution provider. */
export class ModelSession {
  /** Input name -> element type, read once: run() converts float inputs by it. */
  private readonly inputTypes: Map<string, string>;
  /** The graph's input names, read once: a decoder step asks for them every token. */
  readonly inputNames: readonly string[];

  private constructor(
    private readonly session: ort.InferenceSession,
    readonly provider: Provider,
    readonly path: string,
  ) {
    this.inputTypes = new Map(this.inputs.map((i) => [i.name, i.type]));
    this.inputNames = [...this.inputTypes.keys()];
  }

  /**
   * Opens `path` on the requested device. `auto` takes CUDA when its provider loads and falls
   * back to CPU; an explicitly requested provider that cannot load is an error.
   */
  static async open(path: string, options: SessionOptions = {}): Promise<ModelSession> {
    checkCommandLineLength();
    const device = options.device ?? "auto";
    const candidates: Provider[] = device === "auto" ? (cudaProviderInstalled() ? ["cuda", "cpu"] : ["cpu"]) : [device];
    const failures: string[] = [];
    for (const provider of candidates) {
      try {
        const settings = sessionOptions(provider, options.threads, options.memory);
        if (options.profilePrefix) Object.assign(settings, { enableProfiling: true, profileFilePrefix: options.profilePrefix });
        const session = await ort.InferenceSession.create(path, settings);
        return new ModelSession(session, provider, path);
      } catch (error) {
        const message = error instanceof Error ? error.message.split("\n")[0] : String(error);
        if (provider === "cpu" || device !== "auto") {
          if (provider === "cpu") throw new Error(`could not load ${path}: ${message}`);
          throw new ProviderUnavailableError(`execution provider '${provider}' is not available (${message}); ${PROVIDER_HINTS[provider]}`);
        }
        failures.push(`${provider}: ${message}`);
      }
    }
    throw new Error(`no execution provider could load ${path}: ${failures.join("; ")}`);
  }

  get inputs(): InputSpec[] {
    return this.session.inputMetadata.map((m) =>
      m.isTensor ? { name: m.name, type: m.type, shape: m.shape } : { name: m.name, type: "non-tensor", shape: [] },
    );
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  /** Runs the graph. Float inputs are converted to the graph's float16 where it wants that. */
  async run(feeds: Record<string, Tensor>, outputs?: string[]): Promise<Record<string, Tensor>> {
    const typed: Record<string, ort.Tensor> = {};
    for (const [name, tensor] of Object.entries(feeds)) {
      typed[name] = toOrt(tensor, this.inputTypes.get(name));
    }
    const result = outputs ? await this.session.run(typed, outputs) : await this.session.run(typed);
    const out: Record<string, Tensor> = {};
    for (const [name, value] of Object.entries(result)) out[name] = fromOrt(value);
    return out;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/** A plain tensor: float32 or int64 data and dims; what adapters build and read. */
export type Tensor =
  | { type: "float32"; data: Float32Array; dims: number[] }
  | { type: "int64"; data: BigInt64Array; dims: number[] }
  | { type: "bool"; data: Uint8Array; dims: number[] };

function toOrt(tensor: Tensor, wantedType: string | undefined): ort.Tensor {
  if (tensor.type === "float32" && wantedType === "float16") {
    return new ort.Tensor("float16", float32ToFloat16(tensor.data), tensor.dims);
  }
  return new ort.Tensor(tensor.type, tensor.data, tensor.dims);
}

function fromOrt(value: ort.Tensor): Tensor {
  const dims = [...value.dims];
  switch (value.type) {
    case "float32":
      return { type: "float32", data: value.data as Float32Array, dims };
    case "float16":
      return { type: "float32", data: float16ToFloat32(value.data as Uint16Array), dims };
    case "int64":
      return { type: "int64", data: value.data as BigInt64Array, dims };
    case "bool":
      return { type: "bool", data: value.data as Uint8Array, dims };
    default:
      throw new Error(`unsupported output tensor type ${value.type}`);
  }
}

/**
 * Whether onnxruntime-node's CUDA provider library was installed (it is an opt-in download).
 * `auto` only tries CUDA then, instead of letting onnxruntime log a failed load on every run.
 */
function cudaProviderInstalled(): boolean {
  try {
    const require = createRequire(import.meta.url);
    const bin = join(dirname(require.resolve("onnxruntime-node")), "..", "bin");
    const found: string[] = [];
    const visit = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        if (entry.isDirectory()) visit(join(dir, entry.name));
        else found.push(entry.name);
      }
    };
    if (existsSync(bin)) visit(bin);
    return found.some((name) => /onnxruntime_providers_cuda\.(so|dll)$/.test(name));
  } catch {
    return false;
  }
}
