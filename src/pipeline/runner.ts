/**
 * The one runner behind every command that processes items, and behind `emb perf`:
 *
 *   source -> prepare -> dynamic batcher -> model -> post-process -> sink
 *
 * `Runner.process` takes one item through the stages and never rejects: an item that cannot be
 * prepared, whose batch fails in the model, or whose output cannot be post-processed comes back
 * as a failed outcome with a reason, and the other items go on. `runInOrder` drives a source
 * with a bounded read-ahead and hands outcomes to the sink in source order (so output rows
 * follow the input order and a resumed run ends where an uninterrupted one would); `emb perf`
 * calls `process` from its load generator instead. Stage times are kept per stage and per item.
 */
import { DynamicBatcher, type BatcherOptions, type BatchStats } from "../batching/batcher.js";
import { StageTimer } from "./timing.js";

/** What preparing an item gave: the model input with what post-processing needs, or why not. */
export type Prepared<In, Meta> = { kind: "ready"; input: In; meta: Meta } | { kind: "skipped" } | { kind: "failed"; reason: string; error: string };

export interface Stages<Src, In, Meta, Out, Res> {
  /** Reads, decodes or tokenises one item; a resume check may skip it. */
  prepare(source: Src): Promise<Prepared<In, Meta>>;
  /** The model, on one batch: one output per input, in order. */
  infer(batch: In[]): Promise<Out[]>;
  /** Post-processing of one output. */
  post(output: Out, meta: Meta, source: Src): Res;
}

export interface ItemTiming {
  /** Waiting in the batcher's queue. */
  queueUs: number;
  prepareUs: number;
  /** The wall time of the batch the item ran in. */
  inferenceUs: number;
  postprocessUs: number;
  batchSize: number;
}

export interface Failure {
  reason: string;
  error: string;
}

export type Outcome<Res> = { kind: "done"; result: Res; timing: ItemTiming } | { kind: "skipped" } | ({ kind: "failed" } & Failure);

const nowUs = () => Number(process.hrtime.bigint() / 1000n);
const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** What the drivers need of a runner: one item at a time, and its accounting. */
export interface ItemProcessor<Src, Res> {
  process(source: Src): Promise<Outcome<Res>>;
  readonly timer: StageTimer;
  readonly stats: BatchStats;
}

export class Runner<Src, In, Meta, Out, Res> implements ItemProcessor<Src, Res> {
  private readonly batcher: DynamicBatcher<In, Out>;

  constructor(
    private readonly stages: Stages<Src, In, Meta, Out, Res>,
    readonly batching: BatcherOptions,
    /** Shared with the stages that time their own parts (the preparation workers). */
    readonly timer = new StageTimer(),
  ) {
    this.batcher = new DynamicBatcher((batch) => this.timer.time("inference", () => stages.infer(batch)), batching);
  }

  get stats(): BatchStats {
    return this.batcher.stats;
  }

  async process(source: Src): Promise<Outcome<Res>> {
    const start = nowUs();
    let prepared: Prepared<In, Meta>;
    try {
      prepared = await this.stages.prepare(source);
    } catch (error) {
      return { kind: "failed", reason: "unreadable", error: messageOf(error) };
    }
    if (prepared.kind !== "ready") return prepared;
    const ready = nowUs();
    let timed;
    try {
      timed = await this.batcher.submitTimed(prepared.input);
    } catch (error) {
      return { kind: "failed", reason: "inference", error: messageOf(error) };
    }
    const answered = nowUs();
    let result: Res;
    try {
      result = this.timer.timeSync("postprocess", () => this.stages.post(timed.output, prepared.meta, source));
    } catch (error) {
      return { kind: "failed", reason: "postprocess", error: messageOf(error) };
    }
    return {
      kind: "done",
      result,
      timing: {
        queueUs: timed.queueUs,
        prepareUs: ready - start,
        inferenceUs: timed.computeUs,
        postprocessUs: nowUs() - answered,
        batchSize: timed.batchSize,
      },
    };
  }
}

/** Where outcomes go, in source order; awaited, so a sink may write files. */
export interface Sink<Src, Res> {
  done(source: Src, result: Res): void | Promise<void>;
  failed(source: Src, failure: Failure): void | Promise<void>;
  skipped?(source: Src): void | Promise<void>;
}

export interface RunCounts {
  done: number;
  skipped: number;
  failed: number;
  /** The signal stopped the source before it ended. */
  interrupted: boolean;
  seconds: number;
  stages: ReturnType<StageTimer["summary"]>;
  batching: BatchStats;
}

export interface RunOptions {
  /**
   * Items in flight at most: enough to keep the preparation workers and two full batches busy,
   * few enough that memory stays flat however long the source.
   */
  readAhead: number;
  /** Stops taking items when aborted; those in flight are finished and handed to the sink. */
  signal?: AbortSignal;
  /** After each item reached the sink. */
  onProgress?: (source: unknown, outcome: Outcome<unknown>["kind"]) => void;
}

export async function runInOrder<Src, Res>(
  runner: ItemProcessor<Src, Res>,
  source: AsyncIterable<Src> | Iterable<Src>,
  sink: Sink<Src, Res>,
  options: RunOptions,
): Promise<RunCounts> {
  const started = performance.now();
  const counts = { done: 0, skipped: 0, failed: 0 };
  const window: { item: Src; outcome: Promise<Outcome<Res>> }[] = [];
  const handOn = async () => {
    const { item, outcome } = window.shift()!;
    const o = await outcome;
    await runner.timer.time("write", async () => {
      if (o.kind === "done") await sink.done(item, o.result);
      else if (o.kind === "failed") await sink.failed(item, { reason: o.reason, error: o.error });
      else await sink.skipped?.(item);
    });
    counts[o.kind]++;
    options.onProgress?.(item, o.kind);
  };
  let interrupted = false;
  for await (const item of source) {
    if (options.signal?.aborted) {
      interrupted = true;
      break;
    }
    window.push({ item, outcome: runner.process(item) });
    while (window.length >= Math.max(1, options.readAhead)) await handOn();
  }
  while (window.length > 0) await handOn();
  return {
    ...counts,
    interrupted: interrupted || (options.signal?.aborted ?? false),
    seconds: (performance.now() - started) / 1000,
    stages: runner.timer.summary(),
    batching: runner.stats,
  };
}

/** The read-ahead that keeps `workers` preparation threads and two batches of `batching` busy. */
export function readAheadFor(batching: BatcherOptions, workers: number, requestsPerWorker: number): number {
  return 2 * batching.maxBatchSize + (requestsPerWorker + 1) * workers;
}
