/**
 * A fixed pool of worker threads that prepare images (read, hash, decode, resize, normalise).
 * Requests are answered in whatever order workers finish; callers await their own promise.
 *
 * Each worker is handed several requests at once: onnxruntime-node runs inference on the main
 * thread, and a worker holding only one request would sit idle until the main thread is free.
 */
import { availableParallelism } from "node:os";
import type { Worker } from "node:worker_threads";
import { moduleWorker } from "../worker-thread.js";
import type { ImagePreprocessing } from "./normalize.js";
import type { ImageReadOptions } from "./read-image-file.js";

export interface PrepareRequest {
  id: number;
  /** A string, or the bytes of a name that is not UTF-8 (a Uint8Array once across the thread boundary). */
  path: string | Uint8Array;
  /** The image itself, when it came from memory (a server request) rather than a file. */
  data?: Uint8Array;
  preprocessing: ImagePreprocessing;
  /** Decoding settings, and the size limit of a file read. */
  decode: ImageReadOptions;
}

export type PrepareReply =
  | {
      id: number;
      ok: true;
      sha256: string;
      bytes: number;
      width: number;
      height: number;
      pixels: Float32Array;
      times: Record<string, number>;
    }
  | { id: number; ok: false; reason: string; error: string; times: Record<string, number> };

function startWorker(): Worker {
  return moduleWorker(import.meta.url, "prepare-worker");
}

/** Requests queued in each worker. */
export const REQUESTS_PER_WORKER = 4;

export class PreparePool {
  private readonly workers: Worker[] = [];
  /** One entry per free request slot of a worker. */
  private readonly idle: Worker[] = [];
  private readonly waiting: { request: PrepareRequest; resolve: (r: PrepareReply) => void; reject: (e: unknown) => void }[] = [];
  private readonly inFlight = new Map<number, { resolve: (r: PrepareReply) => void; reject: (e: unknown) => void; worker: Worker }>();
  private nextId = 0;
  private closing = false;

  constructor(size = availableParallelism()) {
    for (let i = 0; i < size; i++) this.spawn();
  }

  private spawn(): void {
    const worker = startWorker();
    worker.on("message", (reply: PrepareReply) => this.finish(worker, reply));
    worker.on("error", (error) => this.fail(worker, error));
    // A worker can also end without an error event (killed, or exiting on its own).
    worker.on("exit", (code) => {
      if (!this.closing) this.fail(worker, new Error(`the image preparation worker stopped (exit code ${code})`));
    });
    this.workers.push(worker);
    for (let i = 0; i < REQUESTS_PER_WORKER; i++) this.idle.push(worker);
  }

  prepare(path: string | Uint8Array, preprocessing: ImagePreprocessing, decode: ImageReadOptions): Promise<PrepareReply> {
    return this.submit({ id: this.nextId++, path, preprocessing, decode });
  }

  /** Prepares an image held in memory. */
  prepareBytes(data: Uint8Array, preprocessing: ImagePreprocessing, decode: ImageReadOptions): Promise<PrepareReply> {
    return this.submit({ id: this.nextId++, path: "", data, preprocessing, decode });
  }

  private submit(request: PrepareRequest): Promise<PrepareReply> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ request, resolve, reject });
      this.pump();
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private pump(): void {
    while (this.idle.length > 0 && this.waiting.length > 0) {
      const worker = this.idle.shift()!; // round robin over the workers' free slots
      const { request, resolve, reject } = this.waiting.shift()!;
      this.inFlight.set(request.id, { resolve, reject, worker });
      worker.postMessage(request);
    }
  }

  private finish(worker: Worker, reply: PrepareReply): void {
    const pending = this.inFlight.get(reply.id);
    this.inFlight.delete(reply.id);
    this.idle.push(worker);
    pending?.resolve(reply);
    this.pump();
  }

  /** A worker that died fails its requests and is replaced, so the pool keeps its size. */
  private fail(worker: Worker, error: unknown): void {
    if (!this.workers.includes(worker)) return; // its error and its exit both report one death
    for (const [id, pending] of this.inFlight) {
      if (pending.worker === worker) {
        this.inFlight.delete(id);
        pending.reject(error);
      }
    }
    this.workers.splice(this.workers.indexOf(worker), 1);
    for (let i = this.idle.indexOf(worker); i >= 0; i = this.idle.indexOf(worker)) this.idle.splice(i, 1);
    this.spawn();
    this.pump();
  }
}
