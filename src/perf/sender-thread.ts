/**
 * Request-rate mode against a server sends from a thread of its own (sender-worker.ts), as
 * perf_analyzer's request-rate workers do: on the main thread, each window's bookkeeping, the
 * statistics and metrics reads and garbage collection held sends back, and on a loaded machine
 * 14-66% of them went out more than 1 ms late where perf_analyzer kept to 1%. The main thread
 * only hears the answers.
 */
import type { Worker } from "node:worker_threads";
import { moduleWorker } from "../worker-thread.js";
import { RemoteError } from "./remote.js";
import type { Schedule } from "./schedule.js";
import type { RemoteSender } from "./targets.js";

/** What the sender thread is started with. */
export interface SenderStart {
  sender: RemoteSender;
  schedule: Schedule;
  maxInFlight: number;
  /** One Int32: requests sent so far. */
  sentCounter: SharedArrayBuffer;
}

/** One answered (or failed) request, as the sender thread posts it. */
export type SenderAnswer =
  | { ok: true; latencyUs: number; delayed: boolean; late: boolean; sentNs: bigint; answeredNs: bigint }
  | { ok: false; message: string; remote?: { status?: number; serverMessage?: string } };

/** The request a failed answer stands for, as an error of the class the CLI maps (a server's error or another). */
export function answerError(answer: Extract<SenderAnswer, { ok: false }>): Error {
  return answer.remote ? new RemoteError(answer.message, answer.remote.status, answer.remote.serverMessage) : new Error(answer.message);
}

/** An open loop of requests to a server, sent from its own thread. */
export class SenderThread {
  private readonly worker: Worker;
  private readonly sentCount: Int32Array;
  private readonly failed: Promise<never>;

  constructor(sender: RemoteSender, schedule: Schedule, maxInFlight: number, onAnswer: (answer: SenderAnswer) => void) {
    const sentCounter = new SharedArrayBuffer(4);
    this.sentCount = new Int32Array(sentCounter);
    const start: SenderStart = { sender, schedule, maxInFlight, sentCounter };
    this.worker = moduleWorker(import.meta.url, "sender-worker", { workerData: start });
    this.worker.on("message", (message: SenderAnswer | "stopped") => {
      if (message !== "stopped") onAnswer(message);
    });
    this.failed = new Promise((_, reject) =>
      this.worker.once("error", (error) => {
        // Counted as a failed request, so that a measurement waiting for answers ends.
        onAnswer({ ok: false, message: `the sender thread failed: ${error.message}` });
        reject(error);
      }),
    );
    this.failed.catch(() => {});
  }

  /** Requests sent so far. */
  get sent(): number {
    return Atomics.load(this.sentCount, 0);
  }

  private stopping?: Promise<void>;

  /** Stops sending, waits for the requests in flight to be answered (and their answers heard), and ends the thread; again, waits for the same. */
  stop(): Promise<void> {
    this.stopping ??= this.end();
    return this.stopping;
  }

  private async end(): Promise<void> {
    const stopped = new Promise<void>((resolve) => this.worker.on("message", (m) => m === "stopped" && resolve()));
    this.worker.postMessage("stop");
    await Promise.race([stopped, this.failed]);
    await this.worker.terminate();
  }
}
