/**
 * What `emb perf --url` sends for each target, built once before the load starts (as
 * perf_analyzer loads its input data up front), to the Triton deployment's models or a deployment's own:
 *
 *   siglip-text      -> siglip_text    INPUT_IDS INT64 [1, 64]: rows from an input_ids .json, captions
 *                                       tokenised here (the only case that opens a model locally:
 *                                       its tokenizer), or generated rows of ids 3..999 (valid for
 *                                       every SigLIP vocabulary, the tiny test model's 1000 too)
 *                       (embed_text    INPUT_TEXT BYTES [1, 1]: the captions, or generated ones)
 *   siglip-image     -> siglip_vision  INPUT_IMAGE BYTES [1, 1]: the image file's bytes as they are
 *   florence:<TASK>  -> florence2      INPUT_IMAGE (base64), TASK_PROMPT, TEXT_PROMPT (--text) BYTES [1, 1]
 *
 * `--model-name` picks another model of the server; what it takes is read from its metadata
 * (token ids or text for siglip-text), so a Triton deployment's names and shapes work as well.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { imageToTextTasks, perfTarget, PERF_TARGETS } from "../models/registry.js";
import { InputError, parseIdRows, readCaptionFile, readInputFile } from "../sources/text.js";
import { imageInputs } from "./setup.js";
import { bytesElements } from "../serve/protocol.js";
import { encodeRequest, integerBytes, RemoteClient, RemoteError, serverTarget, type EncodedRequest, type ModelMetadata } from "./remote.js";
import type { RemoteTarget } from "./targets.js";

/** The server's model each target loads by default: the Triton deployment's names, which `emb serve` keeps. */
export const DEFAULT_REMOTE_MODEL = { "text-embedder": "siglip_text", "image-embedder": "siglip_vision", "image-to-text": "florence2" } as const;

/** Flags that set up emb's own runtime, which a server has set up for itself. */
const IN_PROCESS_FLAGS = [
  "batch-size",
  "max-queue-delay-us",
  "batcher-config",
  "workers",
  "sweep",
  "sweep-batch-sizes",
  "sweep-queue-delays-us",
  "sweep-workers",
  "latency-limit",
  "save-config",
  "dtype",
  "device",
  "threads",
  "num-beams",
  "max-new-tokens",
  "min-new-tokens",
  "no-repeat-ngram-size",
  "length-penalty",
  "early-stopping",
];
/** The sweep's own flags. */
const SWEEP_FLAGS = ["sweep", "sweep-batch-sizes", "sweep-queue-delays-us", "sweep-workers", "latency-limit", "save-config"];
/** The local model flags; with --url they only pick the tokenizer of siglip-text captions. */
const MODEL_FLAGS = ["model", "revision", "offline"];
/** Flags that only mean something with --url. */
export const REMOTE_ONLY_FLAGS = ["model-name", "token-file", "collect-metrics", "metrics-url", "metrics-interval"];

/** The flags given that make no sense with --url: a server's batcher, workers, model and generation settings are its own. */
export function flagsRefusedWithUrl(given: ReadonlySet<string>, target: string): string[] {
  const refused = IN_PROCESS_FLAGS.filter((f) => given.has(f));
  if (target !== "siglip-text") refused.push(...MODEL_FLAGS.filter((f) => given.has(f)));
  return refused;
}

/** The usage message for flags refused with --url. */
export function refusedMessage(refused: string[]): string {
  const names = refused.map((f) => `--${f}`).join(", ");
  const one = refused.length === 1;
  return (
    `${names} ${one ? "sets" : "set"} up emb's own runtime, not a server's: with --url the server's model, batcher and workers are measured as it runs them ` +
    `(set them where it starts, e.g. emb serve --batch-size/--batcher-config/--workers). Leave ${one ? "it" : "them"} out` +
    (refused.some((f) => SWEEP_FLAGS.includes(f))
      ? "; --sweep tunes the in-process batcher: run it without --url, then serve with its --save-config file"
      : "") +
    (refused.some((f) => MODEL_FLAGS.includes(f)) ? "; --model only picks the tokenizer of siglip-text captions sent as token ids" : "")
  );
}

export interface RemoteSetup {
  url: string;
  token?: string;
  /** --target: siglip-text, siglip-image or florence:<TASK>. */
  target: string;
  /** --model-name; default: the Triton deployment's model of the target. */
  modelName?: string;
  input?: string;
  field: string;
  text?: string;
  imageSize: { width: number; height: number };
  /**
   * Opens a tokenizer for captions sent as token ids (the local text model's: the one case a
   * model is opened with --url); called only then.
   */
  openTokenizer: () => Promise<{ encode: (text: string) => number[]; release: () => Promise<void> }>;
  progress: (message: string) => void;
}

export interface RemoteTargets {
  /** The server's address and the model measured. */
  url: string;
  model: string;
  /** A fresh target for at most `maxInFlight` requests in flight (a concurrency, or rate mode's bound). */
  make: (maxInFlight: number) => RemoteTarget;
}

/** Checks the server and its model, builds the requests, and returns a factory of targets. */
export async function remoteTargets(setup: RemoteSetup): Promise<RemoteTargets> {
  const target = perfTarget(setup.target);
  if (!target) throw new RangeError(`--target ${setup.target}: choose ${PERF_TARGETS.join(", ")}`);
  // A task's mistakes (unknown task, missing --text) before anything is sent.
  const prompt = target.task ? imageToTextTasks.prompt(target.task, setup.text) : undefined;
  const model = setup.modelName ?? DEFAULT_REMOTE_MODEL[target.role];
  const client = new RemoteClient(setup.url, setup.token);
  try {
    let metadata: ModelMetadata;
    try {
      metadata = await client.metadata(model);
    } catch (error) {
      if (error instanceof RemoteError && error.status === 404) {
        const how = setup.modelName ? "" : `; --target ${setup.target} measures "${model}" unless --model-name names another`;
        throw new RemoteError(`${client.url} has no model "${model}" (HTTP 404: ${error.serverMessage})${how}`, 404, error.serverMessage);
      }
      throw error;
    }
    // Statistics are what the server-side columns come from: fail now rather than mid-run.
    await client.statistics(model);
    let requests: EncodedRequest[];
    if (target.role === "text-embedder") requests = await textRequests(metadata, setup);
    else requests = await imageRequests(metadata, setup, target.task, prompt !== undefined);
    setup.progress(`*** ${client.url}, model ${model}: ${requests.length} distinct request(s) prepared ***`);
    return { url: client.url, model, make: (maxInFlight) => serverTarget(setup.target, model, client, requests, maxInFlight) };
  } finally {
    client.close();
  }
}

type Input = ModelMetadata["inputs"][number];

/** The shape to send one row as: the batch axis (-1 in batching models' metadata) as 1, other variable axes as `fill`. */
function rowShape(input: Input, fill: number): number[] {
  const batched = input.shape[0] === -1;
  const dims = (batched ? input.shape.slice(1) : input.shape).map((d) => (d === -1 ? fill : d));
  return batched ? [1, ...dims] : dims;
}

const describeInputs = (m: ModelMetadata) => m.inputs.map((i) => `${i.name} ${i.datatype} [${i.shape.join(",")}]`).join(", ");

function mismatch(m: ModelMetadata, target: string, wants: string): RemoteError {
  return new RemoteError(`model "${m.name}" takes ${describeInputs(m)}; --target ${target} sends ${wants}. Name the model that does with --model-name`);
}

/** Token id rows (INT64/INT32 input) or text (a BYTES input), whichever the model takes. */
async function textRequests(m: ModelMetadata, setup: RemoteSetup): Promise<EncodedRequest[]> {
  const ids = m.inputs.find((i) => i.datatype === "INT64" || i.datatype === "INT32");
  const text = m.inputs.find((i) => i.datatype === "BYTES");
  const isIdFile = setup.input !== undefined && existsSync(setup.input) && statSync(setup.input).isFile() && /\.json$/.test(setup.input);
  if (m.inputs.length === 1 && ids) {
    const datatype = ids.datatype as "INT64" | "INT32";
    const declared = ids.shape[ids.shape.length - 1];
    const length = declared > 0 ? declared : 64;
    let rows: number[][];
    if (isIdFile) {
      // The server checks ids against its vocabulary; here only the shape.
      rows = parseIdRows(readInputFile(setup.input!, "--input"), setup.input!, length, Number.MAX_SAFE_INTEGER);
    } else if (setup.input) {
      const captions = readCaptionFile(setup.input, setup.field).map((c) => c.text);
      const tokenizer = await setup.openTokenizer();
      try {
        rows = captions.map((c) => tokenizer.encode(c));
      } finally {
        await tokenizer.release();
      }
      const bad = rows.find((r) => r.length !== length);
      if (bad)
        throw new InputError(
          `the local tokenizer makes rows of ${bad.length} ids but model "${m.name}" takes ${length}; pick the model's tokenizer with --model`,
        );
    } else rows = generatedIdRows(length);
    if (rows.length === 0) throw new InputError(`--input ${setup.input}: no rows`);
    return rows.map((row) => encodeRequest([{ name: ids.name, datatype, shape: rowShape(ids, row.length), data: integerBytes(row, datatype) }]));
  }
  if (m.inputs.length === 1 && text) {
    if (isIdFile)
      throw new InputError(`--input ${setup.input}: model "${m.name}" takes text (${describeInputs(m)}), not token ids; give a captions file (.txt, .jsonl)`);
    const captions = setup.input ? readCaptionFile(setup.input, setup.field).map((c) => c.text) : generatedCaptions();
    if (captions.length === 0) throw new InputError(`--input ${setup.input}: no captions`);
    return captions.map((c) =>
      encodeRequest([{ name: text.name, datatype: "BYTES", shape: rowShape(text, 1), data: bytesElements([Buffer.from(c, "utf8")]) }]),
    );
  }
  throw mismatch(m, setup.target, "one input of token ids (INT64) or of text (BYTES)");
}

/**
 * Rows as captions look: a few ids, the end token and padding (SigLIP's `</s>`, id 1, is both).
 * Ids stay in 3..999 so that every SigLIP vocabulary has them.
 */
function generatedIdRows(length: number): number[][] {
  const eos = 1;
  const pad = 1;
  return Array.from({ length: 256 }, (_, r) => {
    const words = Math.min(3 + ((r * 7919) % 20), length - 1);
    return Array.from({ length }, (_, i) => (i < words ? 3 + ((r * 104729 + i * 7907) % 997) : i === words ? eos : pad));
  });
}

function generatedCaptions(): string[] {
  const things = ["dog", "cat", "bicycle", "kitchen", "beach", "train", "street", "pizza", "mountain", "child", "boat", "horse"];
  const places = ["in a park", "on a table", "at night", "near the water", "in the snow", "on a busy road", "under a tree", "in a small room"];
  return Array.from({ length: 256 }, (_, r) => `a photo of a ${things[r % things.length]} ${places[(r * 7) % places.length]}`);
}

/** Most bytes of images held for sending; past it the images read so far are reused. */
const IMAGE_BYTES_LIMIT = 512 * 1024 * 1024;

/** Raw image bytes (siglip_vision, embed_image), or florence2's base64 image with its task. */
async function imageRequests(m: ModelMetadata, setup: RemoteSetup, task: string | undefined, florence: boolean): Promise<EncodedRequest[]> {
  const byName = (name: string) => m.inputs.find((i) => i.name === name && i.datatype === "BYTES");
  const image = byName("INPUT_IMAGE") ?? (m.inputs.length === 1 && m.inputs[0].datatype === "BYTES" ? m.inputs[0] : undefined);
  const taskInput = byName("TASK_PROMPT");
  const textInput = byName("TEXT_PROMPT");
  if (!image) throw mismatch(m, setup.target, "an image as a BYTES input (INPUT_IMAGE)");
  if (florence && !taskInput) throw mismatch(m, setup.target, "INPUT_IMAGE and TASK_PROMPT (BYTES)");
  if (florence && setup.text !== undefined && !textInput) throw mismatch(m, setup.target, "INPUT_IMAGE, TASK_PROMPT and TEXT_PROMPT (BYTES)");
  if (!florence && m.inputs.length > 1) throw mismatch(m, setup.target, "one image input");

  const inputs = await imageInputs(setup.input, setup.imageSize, 1000);
  const files: Buffer[] = [];
  try {
    let held = 0;
    for (const path of inputs.paths) {
      const bytes = readFileSync(path);
      if (files.length > 0 && held + bytes.length > IMAGE_BYTES_LIMIT) break;
      files.push(bytes);
      held += bytes.length;
    }
  } finally {
    inputs.cleanup();
  }
  const element = (text: string) => bytesElements([Buffer.from(text, "utf8")]);
  return files.map((bytes) => {
    if (!florence) return encodeRequest([{ name: image.name, datatype: "BYTES", shape: rowShape(image, 1), data: bytesElements([bytes]) }]);
    // The Triton deployment's florence2 takes the image base64-encoded, and the task and its text as they are.
    return encodeRequest([
      { name: image.name, datatype: "BYTES", shape: rowShape(image, 1), data: element(bytes.toString("base64")) },
      { name: taskInput!.name, datatype: "BYTES", shape: rowShape(taskInput!, 1), data: element(task!) },
      ...(setup.text !== undefined ? [{ name: textInput!.name, datatype: "BYTES", shape: rowShape(textInput!, 1), data: element(setup.text) }] : []),
    ]);
  });
}
