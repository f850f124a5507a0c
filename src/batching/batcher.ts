/**
 * A dynamic batcher in the manner of Triton's dynamic_batching: requests queue up and run
 * together when the batch is full or the oldest request has waited `maxQueueDelayUs`.
 * Every model goes through it; what a batch means is the executor's business.
 */

export interface BatcherOptions {
  /** Largest batch handed to the executor. */
  maxBatchSize: number;
  /** How long the oldest queued request may wait for others before a partial batch runs. */
  maxQueueDelayUs: number;
  /** Batches executing at once (1 keeps a single model session busy without oversubscribing). */
  maxInFlight?: number;
}

export type BatchExecutor<I, O> = (inputs: I[]) => Promise<O[]>;

export interface BatchStats {
  /** Requests answered. */
  inferences: number;
  /** Executor calls. */
  executions: number;
  /** batch size -> how many executions had it */
  batchSizes: Record<number, number>;
  /** Sum of time requests spent queued before their batch started, in microseconds. */
  queueUs: number;
  /** Sum of executor wall time, in microseconds. */
  executeUs: number;
}

/** One request's answer with what it went through: the perf tool's server-side breakdown. */
export interface TimedOutput<O> {
  output: O;
  /** Time queued before its batch started, in microseconds. */
  queueUs: number;
  /** Wall time of the batch it ran in, in microseconds. */
  computeUs: number;
  batchSize: number;
}

interface Pending<I, O> {
  input: I;
  enqueued: number;
  resolve: (output: TimedOutput<O>) => void;
  reject: (error: unknown) => void;
}

const nowUs = () => Number(process.hrtime.bigint() / 1000n);

export class DynamicBatcher<I, O> {
  private readonly queue: Pending<I, O>[] = [];
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly maxInFlight: number;
  readonly stats: BatchStats = { inferences: 0, executions: 0, batchSizes: {}, queueUs: 0, executeUs: 0 };

  constructor(
    private readonly execute: BatchExecutor<I, O>,
    private readonly options: BatcherOptions,
  ) {
    if (!Number.isInteger(options.maxBatchSize) || options.maxBatchSize < 1) {
      throw new RangeError(`maxBatchSize must be a positive integer, got ${options.maxBatchSize}`);
    }
    if (!(options.maxQueueDelayUs >= 0)) {
      throw new RangeError(`maxQueueDelayUs must be >= 0, got ${options.maxQueueDelayUs}`);
    }
    this.maxInFlight = options.maxInFlight ?? 1;
  }

  /** Queues one request; resolves with its own output once its batch has run. */
  async submit(input: I): Promise<O> {
    return (await this.submitTimed(input)).output;
  }

  /** As submit(), with the request's queue time, its batch's compute time and size. */
  submitTimed(input: I): Promise<TimedOutput<O>> {
    return new Promise<TimedOutput<O>>((resolve, reject) => {
      this.queue.push({ input, enqueued: nowUs(), resolve, reject });
      this.schedule();
    });
  }

  /** Requests waiting for a batch. */
  get queued(): number {
    return this.queue.length;
  }

  /**
   * Resolves once at most `limit` requests wait: producers use it for backpressure, so memory
   * stays bounded without waiting on a request that is itself still queued.
   */
  whenQueuedAtMost(limit: number): Promise<void> {
    if (this.queue.length <= limit) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push({ limit, resolve }));
  }

  private readonly roomWaiters: { limit: number; resolve: () => void }[] = [];

  private schedule(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length >= this.options.maxBatchSize) {
      this.dispatch();
    }
    if (this.queue.length === 0 || this.inFlight >= this.maxInFlight) return;
    const waited = nowUs() - this.queue[0].enqueued;
    const remaining = this.options.maxQueueDelayUs - waited;
    if (remaining <= 0) {
      this.dispatch();
      return;
    }
    if (!this.timer) {
      this.timer = setTimeout(
        () => {
          this.timer = undefined;
          this.schedule();
        },
        Math.ceil(remaining / 1000),
      );
    }
  }

  private async run(batch: Pending<I, O>[], started: number): Promise<void> {
    let outputs: O[] | undefined;
    let failure: unknown;
    try {
      outputs = await this.execute(batch.map((p) => p.input));
      if (outputs.length !== batch.length) {
        throw new Error(`batch executor returned ${outputs.length} outputs for ${batch.length} inputs`);
      }
    } catch (error) {
      failure = error ?? new Error("batch executor failed");
    }
    this.stats.executions++;
    this.stats.inferences += batch.length;
    this.stats.batchSizes[batch.length] = (this.stats.batchSizes[batch.length] ?? 0) + 1;
    const finished = nowUs();
    this.stats.executeUs += finished - started;
    this.inFlight--;
    batch.forEach((p, i) =>
      failure === undefined
        ? p.resolve({ output: outputs![i], queueUs: started - p.enqueued, computeUs: finished - started, batchSize: batch.length })
        : p.reject(failure),
    );
    this.schedule();
  }

  private dispatch(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const batch = this.queue.splice(0, this.options.maxBatchSize);
    for (let i = this.roomWaiters.length - 1; i >= 0; i--) {
      if (this.queue.length <= this.roomWaiters[i].limit) this.roomWaiters.splice(i, 1)[0].resolve();
    }
    const started = nowUs();
    for (const p of batch) this.stats.queueUs += started - p.enqueued;
    this.inFlight++;
    void this.run(batch, started);
  }
}
