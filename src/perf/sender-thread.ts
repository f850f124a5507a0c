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
  /** This thread's requests outstanding at most. */
  maxInFlight: number;
  /** This thread sends requests index, index + of, index + 2 of, ... of the schedule. */
  share: { index: number; of: number };
  /** One Int32: requests sent so far, by all the threads. */
  sentCounter: SharedArrayBuffer;
}

/**
 * Sender threads, as perf_analyzer's request-rate mode has (--max-threads, 4 by default): each
 * sends every fourth request, so one woken late makes only its own next request overdue.
 */
export const SENDER_THREADS = 4;

/** What the main thread tells a sender thread: start the schedule at this time (process.hrtime, microseconds), or stop. */
export type SenderCommand = { kind: "start"; startUs: number } | { kind: "stop" };

/** How long after the last thread is ready the schedule starts: time for the start message to arrive. */
const START_MARGIN_US = 5000;

/** One answered (or failed) request, as the sender thread posts it. */
export type SenderAnswer =
  | { ok: true; latencyUs: number; delayed: boolean; late: boolean; sentNs: bigint; answeredNs: bigint }
  | { ok: false; message: string; remote?: { status?: number; serverMessage?: string } };

/** The request a failed answer stands for, as an error of the class the CLI maps (a server's error or another). */
export function answerError(answer: Extract<SenderAnswer, { ok: false }>): Error {
  return answer.remote ? new RemoteError(answer.message, answer.remote.status, answer.remote.serverMessage) : new Error(answer.message);
}

/** An open loop of requests to a server, sent from SENDER_THREADS threads of its own. */
export class SenderThreads {
  private readonly threads: SenderThread[];
  private readonly sentCount: Int32Array;

  constructor(sender: RemoteSender, schedule: Schedule, maxInFlight: number, onAnswer: (answer: SenderAnswer) => void, count = SENDER_THREADS) {
    const sentCounter = new SharedArrayBuffer(4);
    this.sentCount = new Int32Array(sentCounter);
    const perThread = Math.max(1, Math.ceil(maxInFlight / count));
    this.threads = Array.from(
      { length: count },
      (_, index) => new SenderThread({ sender, schedule, maxInFlight: perThread, share: { index, of: count }, sentCounter }, onAnswer),
    );
    // One schedule: every thread starts it at the same instant, once all of them are running.
    void Promise.all(this.threads.map((t) => t.ready)).then(() => {
      const startUs = Number(process.hrtime.bigint() / 1000n) + START_MARGIN_US;
      for (const t of this.threads) t.command({ kind: "start", startUs });
    });
  }

  /** Requests sent so far. */
  get sent(): number {
    return Atomics.load(this.sentCount, 0);
  }

  /** Stops sending, waits for the requests in flight to be answered (and their answers heard), and ends the threads; again, waits for the same. */
  async stop(): Promise<void> {
    await Promise.all(this.threads.map((t) => t.stop()));
  }
}

/** One sender thread. */
class SenderThread {
  private readonly worker: Worker;
  private readonly failed: Promise<never>;
  private stopping?: Promise<void>;
  /** Resolves when the thread is running and waits for its start. */
  readonly ready: Promise<void>;

  constructor(start: SenderStart, onAnswer: (answer: SenderAnswer) => void) {
    this.worker = moduleWorker(import.meta.url, "sender-worker", { workerData: start });
    this.ready = new Promise((resolve) => this.worker.once("message", () => resolve()));
    this.worker.on("message", (message: SenderAnswer | "stopped" | "ready") => {
      if (message !== "stopped" && message !== "ready") onAnswer(message);
    });
    this.failed = new Promise((_, reject) =>
      this.worker.once("error", (error) => {
        // Counted as a failed request, so that a measurement waiting for answers ends.
        onAnswer({ ok: false, message: `a sender thread failed: ${error.message}` });
        reject(error);
      }),
    );
    this.failed.catch(() => {});
  }

  command(command: SenderCommand): void {
    this.worker.postMessage(command);
  }

  stop(): Promise<void> {
    this.stopping ??= this.end();
    return this.stopping;
  }

  private async end(): Promise<void> {
    const stopped = new Promise<void>((resolve) => this.worker.on("message", (m) => m === "stopped" && resolve()));
    this.command({ kind: "stop" });
    await Promise.race([stopped, this.failed]);
    await this.worker.terminate();
  }
}
