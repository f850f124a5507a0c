/**
 * Per-model statistics in the shape of Triton's statistics extension (what perf_analyzer reads
 * for its server-side breakdown): counts and summed nanoseconds of successful and failed
 * requests, of their time queued, preparing inputs (compute_input), in the model (compute_infer)
 * and building outputs (compute_output); inferences (batch rows) and model executions, per batch
 * size too.
 */

interface Duration {
  count: number;
  ns: number;
}

const zero = (): Duration => ({ count: 0, ns: 0 });
const add = (d: Duration, ns: number) => {
  d.count++;
  d.ns += Math.round(ns);
};

/** One successful request's times, in nanoseconds. */
export interface RequestTimes {
  totalNs: number;
  queueNs: number;
  inputNs: number;
  inferNs: number;
  outputNs: number;
  /** Rows in the request: Triton counts inferences, not requests. */
  rows: number;
  /** Preparing every row (decode and resize, or tokenising), summed: inputNs is only the slowest row's. */
  prepareNs?: number;
}

export class ModelStatistics {
  private readonly success = zero();
  private readonly fail = zero();
  private readonly queue = zero();
  private readonly computeInput = zero();
  private readonly computeInfer = zero();
  private readonly computeOutput = zero();
  private inferences = 0;
  private executions = 0;
  private lastInferenceMs = 0;
  private readonly batches = new Map<number, Duration>();
  private readonly prepare = zero();
  private pendingRequests = 0;

  /** A request arrived and is not answered yet (Triton's pending count, for /metrics). */
  started(): void {
    this.pendingRequests++;
  }

  /** A request was answered or failed. */
  ended(): void {
    this.pendingRequests--;
  }

  get pending(): number {
    return this.pendingRequests;
  }

  /** Rows prepared and their summed preparation time, for emb's own metrics beside Triton's. */
  get preparation(): Readonly<Duration> {
    return this.prepare;
  }

  requestSucceeded(t: RequestTimes): void {
    add(this.success, t.totalNs);
    add(this.queue, t.queueNs);
    add(this.computeInput, t.inputNs);
    add(this.computeInfer, t.inferNs);
    add(this.computeOutput, t.outputNs);
    this.inferences += t.rows;
    this.prepare.count += t.rows;
    this.prepare.ns += Math.round(t.prepareNs ?? 0);
    this.lastInferenceMs = Date.now();
  }

  requestFailed(totalNs: number): void {
    add(this.fail, totalNs);
  }

  /** One run of the model on a batch of `size` rows. */
  executed(size: number, ns: number): void {
    this.executions++;
    const d = this.batches.get(size) ?? zero();
    add(d, ns);
    this.batches.set(size, d);
  }

  toJson(name: string, version: string): Record<string, unknown> {
    return {
      name,
      version,
      last_inference: this.lastInferenceMs,
      inference_count: this.inferences,
      execution_count: this.executions,
      inference_stats: {
        success: { ...this.success },
        fail: { ...this.fail },
        queue: { ...this.queue },
        compute_input: { ...this.computeInput },
        compute_infer: { ...this.computeInfer },
        compute_output: { ...this.computeOutput },
        cache_hit: zero(),
        cache_miss: zero(),
      },
      batch_stats: [...this.batches.entries()]
        .sort(([a], [b]) => a - b)
        .map(([size, d]) => ({
          batch_size: size,
          compute_input: { count: d.count, ns: 0 },
          compute_infer: { ...d },
          compute_output: { count: d.count, ns: 0 },
        })),
      memory_usage: [],
    };
  }
}
