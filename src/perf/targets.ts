/**
 * What `emb perf` loads: one request is one image or one caption taken through the same stages
 * as the real commands (prepare on worker threads or tokenise, the dynamic batcher, the model,
 * post-processing), each stage timed per request. Models are loaded once; a target is cheap to
 * rebuild with other batcher settings, which is what the sweep does.
 */
import { DynamicBatcher, type BatcherOptions, type BatchExecutor, type BatchStats } from "../batching/batcher.js";
import type { ImagePreprocessing } from "../pipeline/normalize.js";
import { PreparePool, REQUESTS_PER_WORKER } from "../pipeline/prepare-pool.js";

export interface RequestTiming {
  /** Waiting for admission and in the batcher's queue. */
  queueUs: number;
  preprocessUs: number;
  /** The wall time of the batch the request ran in. */
  inferenceUs: number;
  postprocessUs: number;
  batchSize: number;
}

export interface TargetSettings extends BatcherOptions {
  /** Preparation worker threads (image targets). */
  workers: number;
}

export interface PerfTarget {
  readonly name: string;
  /** Runs request number `i` (inputs are used round-robin). */
  run(i: number): Promise<RequestTiming>;
  readonly stats: BatchStats;
  close(): Promise<void>;
}

const nowUs = () => Number(process.hrtime.bigint() / 1000n);

/**
 * Admission control: at most `limit` requests hold prepared inputs at once. However many
 * requests are in flight, the rest wait holding only their index: memory and open files stay
 * bounded (the seeds' clients ran out of file descriptors at high concurrency).
 */
class Admission {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly limit: number) {}

  async acquire(): Promise<void> {
    if (this.active < this.limit) {
      this.active++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }
}

interface Stages<P, O> {
  prepare: (i: number) => Promise<P>;
  execute: BatchExecutor<P, O>;
  postprocess: (output: O, i: number) => void;
}

class StagedTarget<P, O> implements PerfTarget {
  private readonly batcher: DynamicBatcher<P, O>;
  private readonly admission: Admission;

  constructor(
    readonly name: string,
    private readonly stages: Stages<P, O>,
    settings: TargetSettings,
    private readonly onClose: () => Promise<void> = async () => {},
  ) {
    this.batcher = new DynamicBatcher(stages.execute, settings);
    this.admission = new Admission(2 * settings.maxBatchSize + REQUESTS_PER_WORKER * settings.workers);
  }

  get stats(): BatchStats {
    return this.batcher.stats;
  }

  async run(i: number): Promise<RequestTiming> {
    const start = nowUs();
    await this.admission.acquire();
    const admitted = nowUs();
    try {
      const prepared = await this.stages.prepare(i);
      const ready = nowUs();
      const timed = await this.batcher.submitTimed(prepared);
      const answered = nowUs();
      this.stages.postprocess(timed.output, i);
      return {
        queueUs: admitted - start + timed.queueUs,
        preprocessUs: ready - admitted,
        inferenceUs: timed.computeUs,
        postprocessUs: nowUs() - answered,
        batchSize: timed.batchSize,
      };
    } finally {
      this.admission.release();
    }
  }

  close(): Promise<void> {
    return this.onClose();
  }
}

/** An image target: files read, decoded and resized on worker threads, then the model. */
export function imageTarget<O>(
  name: string,
  paths: string[],
  preprocessing: ImagePreprocessing,
  execute: BatchExecutor<Float32Array, O>,
  postprocess: (output: O, path: string) => void,
  settings: TargetSettings,
): PerfTarget {
  const pool = new PreparePool(settings.workers);
  return new StagedTarget<Float32Array, O>(
    name,
    {
      prepare: async (i) => {
        const reply = await pool.prepare(paths[i % paths.length], preprocessing, {});
        if (!reply.ok) throw new Error(`${paths[i % paths.length]}: ${reply.error}`);
        return reply.pixels;
      },
      execute,
      postprocess: (output, i) => postprocess(output, paths[i % paths.length]),
    },
    settings,
    () => pool.close(),
  );
}

/** A text target: each request tokenised on the main thread (cheap), then the model. */
export function textTarget<O>(
  name: string,
  count: number,
  tokenize: (i: number) => number[],
  execute: BatchExecutor<number[], O>,
  postprocess: (output: O) => void,
  settings: TargetSettings,
): PerfTarget {
  if (count === 0) throw new Error("no text inputs");
  return new StagedTarget<number[], O>(name, { prepare: async (i) => tokenize(i % count), execute, postprocess: (o) => postprocess(o) }, settings);
}
