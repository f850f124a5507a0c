/**
 * The settings that choose and run a model, as the library's callers (src/api) and the model
 * flags (src/cli) give them, and their one translation to the registry's OpenOptions, so both
 * open a model the same way with the same defaults.
 */
import type { Device } from "../runtime/session.js";
import type { HubOptions } from "./common/hub.js";
import { parseDtype, type OpenOptions, type Role } from "./registry.js";

export interface ModelOptions {
  /** A local model folder or a Hugging Face hub repository id; the role's default model when absent. */
  model?: string;
  /** Weight variant: "fp32" (default), "fp16", "q8", ... or per part, e.g. "vision=fp16,text=q8". */
  dtype?: string;
  /** Execution provider: "auto" (default: CUDA when installed, else CPU), "cpu", "cuda" or "webgpu". */
  device?: Device;
  /** Threads per inference; 0 (default) lets onnxruntime use every core. */
  threads?: number;
  /** Hub revision: a branch, tag or commit (default "main"). */
  revision?: string;
  /** Use only the local Hugging Face cache (as HF_HUB_OFFLINE=1 does). */
  offline?: boolean;
  /** Called as a hub download progresses: the file, bytes received so far, its size when known. */
  onDownload?: HubOptions["onProgress"];
  /** Lowercase captions before tokenising; default as the model was trained (SigLIP 2: yes). SigLIP's and CLIP's tokenizers ignore it. */
  lowercase?: boolean;
  /** DINOv2: embed the CLS token ("cls", the default) or the mean of the patch tokens ("mean"). Other families refuse it. */
  pooling?: "cls" | "mean";
  /** SigLIP 2 NaFlex: the most patches an image becomes (default: the model's processor config). Other families refuse it. */
  maxNumPatches?: number;
}

/** The registry's options for opening `role`'s model; a dtype the family lacks throws DtypeSpecError naming the valid ones. */
export function registryOptions(role: Role, options: ModelOptions): OpenOptions {
  return {
    model: options.model,
    dtype: parseDtype(role, options.dtype ?? "fp32"),
    session: { device: options.device ?? "auto", threads: options.threads ?? 0 },
    hub: { revision: options.revision ?? "main", offline: options.offline || undefined },
    onDownload: options.onDownload,
    text: { lowercase: options.lowercase },
    image: { pooling: options.pooling, maxNumPatches: options.maxNumPatches },
  };
}
