/**
 * What `emb perf` loads: one request is one image or one caption taken through the runner the
 * commands use (pipeline/runner.ts: the same prepare stage, dynamic batcher, model and
 * post-processing), each stage timed per request. Models are loaded once; a target is cheap to
 * rebuild with other batcher settings, which is what the sweep does. With `--url` a target is a
 * model on a running server instead (remote.ts), which reports its stages only as totals.
 */
import type { BatcherOptions, BatchStats } from "../batching/batcher.js";
import { prepareImage, type ImageMeta } from "../pipeline/image-stage.js";
import type { ImagePreprocessing } from "../image/normalize.js";
import { Admission } from "../pipeline/admission.js";
import { PreparePool, REQUESTS_PER_WORKER } from "../image/prepare-pool.js";
import { readAheadFor, Runner, type ItemProcessor } from "../pipeline/runner.js";
import { StageTimer, type StageSummary } from "../pipeline/timing.js";
import type { ServerStatistics } from "./server-stats.js";

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

interface TargetBase {
  readonly name: string;
  close(): Promise<void>;
}

/** A target run in this process: it sees each request's stages and the batcher's counters. */
export interface LocalTarget extends TargetBase {
  readonly kind: "local";
  /**
   * Runs request number `i` (inputs are used round-robin). When `signal` aborts before the request
   * is admitted, it leaves the queue unrun and rejects with the signal's reason.
   */
  run(i: number, signal?: AbortSignal): Promise<RequestTiming>;
  readonly stats: BatchStats;
  /** Wall time per stage of the runner, the workers' read/decode/normalise included. */
  readonly stages: Record<string, StageSummary>;
}

/** What a sender in another thread needs to send a remote target's requests itself. */
export interface RemoteSender {
  url: string;
  token?: string;
  /** The server's model name. */
  model: string;
  /** Triton binary-extension requests (remote.ts's EncodedRequest), sent round-robin. */
  requests: { body: Buffer; headerLength: number }[];
}

/**
 * A model on a running server (`emb perf --url`): the client sees only each request's latency;
 * the server-side breakdown, inferences, executions and batch sizes come from the server's
 * cumulative statistics, read at the edges of each measurement window (perf_analyzer's way).
 */
export interface RemoteTarget extends TargetBase {
  readonly kind: "remote";
  /** Sends request number `i` (inputs round-robin); resolves when its answer has been read. */
  run(i: number): Promise<void>;
  /** The same requests, for the open loop's sender thread. */
  readonly sender: RemoteSender;
  serverStats(): Promise<ServerStatistics>;
}

export type PerfTarget = LocalTarget | RemoteTarget;

const nowUs = () => Number(process.hrtime.bigint() / 1000n);

/** A perf target: requests by index through the same runner the commands use. */
class RunnerTarget implements LocalTarget {
  readonly kind = "local" as const;
  private readonly admission: Admission;

  constructor(
    readonly name: string,
    private readonly runner: ItemProcessor<number, unknown>,
    settings: TargetSettings,
    private readonly onClose: () => Promise<void> = async () => {},
  ) {
    this.admission = new Admission(readAheadFor(settings, settings.workers, REQUESTS_PER_WORKER));
  }

  get stats(): BatchStats {
    return this.runner.stats;
  }

  get stages(): Record<string, StageSummary> {
    return this.runner.timer.summary();
  }

  async run(i: number, signal?: AbortSignal): Promise<RequestTiming> {
    const start = nowUs();
    await this.admission.acquire(signal);
    const admitted = nowUs();
    try {
      const outcome = await this.runner.process(i);
      if (outcome.kind !== "done") throw new Error(outcome.kind === "failed" ? `${outcome.reason}: ${outcome.error}` : `request ${i} was skipped`);
      const t = outcome.timing;
      return {
        queueUs: admitted - start + t.queueUs,
        preprocessUs: t.prepareUs,
        inferenceUs: t.inferenceUs,
        postprocessUs: t.postprocessUs,
        batchSize: t.batchSize,
      };
    } finally {
      this.admission.release();
    }
  }

  close(): Promise<void> {
    return this.onClose();
  }
}

/** An image target: the commands' image stage (files read, decoded and resized on worker threads), then the model. */
export function imageTarget<O>(
  name: string,
  paths: string[],
  preprocessing: ImagePreprocessing,
  infer: (images: Float32Array[]) => Promise<O[]>,
  post: (output: O, meta: ImageMeta) => void,
  settings: TargetSettings,
): LocalTarget {
  const pool = new PreparePool(settings.workers);
  const timer = new StageTimer();
  const prepare = prepareImage({ pool, preprocessing, timer });
  const runner = new Runner({ prepare: (i: number) => prepare(paths[i % paths.length]), infer, post }, settings, timer);
  return new RunnerTarget(name, runner, settings, () => pool.close());
}

/** A text target: each request tokenised on the main thread (cheap), then the model. */
export function textTarget<O>(
  name: string,
  count: number,
  tokenize: (i: number) => number[],
  infer: (rows: number[][]) => Promise<O[]>,
  post: (output: O) => void,
  settings: TargetSettings,
): LocalTarget {
  if (count === 0) throw new Error("no text inputs");
  const timer = new StageTimer();
  const runner = new Runner(
    {
      prepare: async (i: number) => ({ kind: "ready" as const, input: timer.timeSync("tokenize", () => tokenize(i % count)), meta: undefined }),
      infer,
      post: (output: O) => post(output),
    },
    settings,
    timer,
  );
  return new RunnerTarget(name, runner, { ...settings, workers: 0 });
}
