/**
 * A served model: its Triton-style description (inputs, outputs, batching) and how a request
 * becomes rows for the runner and rows become output tensors. Every row of every client goes
 * through the model's one Runner, so all clients share its dynamic batcher as the commands do.
 */
import type { BatcherOptions } from "../batching/batcher.js";
import type { Admission } from "../pipeline/admission.js";
import type { ItemProcessor } from "../pipeline/runner.js";
import { ProtocolError, type DataType, type InferRequest, type OutputTensor } from "./protocol.js";
import { ModelStatistics } from "./statistics.js";

export interface TensorSpec {
  name: string;
  datatype: DataType;
  /** Without the batch dimension; -1 is any size. */
  dims: number[];
  optional?: boolean;
}

export interface EndpointSpec {
  name: string;
  /** What `platform` reports in metadata and config. */
  platform: string;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  batching: BatcherOptions;
  /** Request parameters the model reads, for its config. */
  parameters?: Record<string, string>;
}

/** A request row's failure that is the client's doing (an image that does not decode): a 400, not a 500. */
const CLIENT_FAULTS = new Set(["unreadable", "empty", "too-large"]);

const nowNs = () => process.hrtime.bigint();

/** A row as the runner sees it: tagged with the statistics it counts in (its endpoint's, and the model's it feeds). */
export type Counted<Row> = Row & { statistics: ModelStatistics[] };

/**
 * Counts one model run in the statistics of every endpoint with rows in the batch: endpoints
 * that share a model (embed_text and siglip_text) share its batches.
 */
export function countExecution(batch: { statistics: ModelStatistics[] }[], ns: number): void {
  const rows = new Map<ModelStatistics, number>();
  for (const item of batch) for (const s of item.statistics) rows.set(s, (rows.get(s) ?? 0) + 1);
  for (const [statistics, n] of rows) statistics.executed(n, ns);
}

/** What the servers (HTTP and gRPC) need of a served model, whatever its rows and results. */
export interface ServedEndpoint {
  readonly name: string;
  readonly version: string;
  readonly statistics: ModelStatistics;
  readonly rawInput: TensorSpec | undefined;
  infer(request: InferRequest, signal: AbortSignal): Promise<OutputTensor[]>;
  metadata(): Record<string, unknown>;
  config(): Record<string, unknown>;
}

/** The same model under another name, sharing its batcher and statistics (the Triton deployment's older name "siglip" for siglip_vision). */
export function renamed(endpoint: ServedEndpoint, name: string): ServedEndpoint {
  return {
    name,
    version: endpoint.version,
    statistics: endpoint.statistics,
    rawInput: endpoint.rawInput,
    infer: (request, signal) => endpoint.infer(request, signal),
    metadata: () => ({ ...endpoint.metadata(), name }),
    config: () => ({ ...endpoint.config(), name }),
  };
}

export class Endpoint<Row extends object, Res> implements ServedEndpoint {
  readonly version = "1";
  readonly statistics = new ModelStatistics();

  constructor(
    readonly spec: EndpointSpec,
    private readonly runner: ItemProcessor<Counted<Row>, Res>,
    /** Rows prepared or queued at most, shared by the endpoints of one model (the rest wait holding only their request). */
    private readonly admission: Admission,
    /** The request's rows; throws ProtocolError for inputs the model cannot take. */
    private readonly rowsOf: (request: InferRequest, rows: number) => Row[],
    private readonly outputsOf: (results: Res[]) => OutputTensor[],
    /**
     * The statistics of the model this endpoint feeds (embed_image feeds siglip_vision, as the
     * Triton deployment's BLS model did): its requests count there too, so perf_analyzer's
     * --bls-composing finds them.
     */
    private readonly composing?: ModelStatistics,
  ) {}

  private get counts(): ModelStatistics[] {
    return this.composing ? [this.statistics, this.composing] : [this.statistics];
  }

  get name(): string {
    return this.spec.name;
  }

  /** The only input, for raw binary requests. */
  get rawInput(): TensorSpec | undefined {
    const required = this.spec.inputs.filter((i) => !i.optional);
    return required.length === 1 ? required[0] : undefined;
  }

  /** Runs one request; ProtocolError for a bad one, other errors for the server's own failures. */
  async infer(request: InferRequest, signal: AbortSignal): Promise<OutputTensor[]> {
    const started = nowNs();
    for (const s of this.counts) s.started();
    try {
      const rows = this.check(request);
      const outcomes = await Promise.all(this.rowsOf(request, rows).map((row) => this.runRow(row, signal)));
      const results: Res[] = [];
      let times = { queueNs: 0, inputNs: 0, inferNs: 0, outputNs: 0, prepareNs: 0 };
      for (const [i, outcome] of outcomes.entries()) {
        if (outcome.kind === "failed") {
          const where = rows > 1 ? `row ${i}: ` : "";
          if (CLIENT_FAULTS.has(outcome.reason)) throw new ProtocolError(`${where}${outcome.error}`);
          throw new Error(`${where}${outcome.reason} failed: ${outcome.error}`);
        }
        if (outcome.kind !== "done") throw new Error(`row ${i} was not run`);
        results.push(outcome.result);
        const t = outcome.timing;
        // The request's rows ran side by side: it took as long as its slowest row in each stage.
        times = {
          queueNs: Math.max(times.queueNs, t.queueUs * 1000),
          inputNs: Math.max(times.inputNs, t.prepareUs * 1000),
          inferNs: Math.max(times.inferNs, t.inferenceUs * 1000),
          outputNs: Math.max(times.outputNs, t.postprocessUs * 1000),
          prepareNs: times.prepareNs + t.prepareUs * 1000,
        };
      }
      const outputs = this.outputsOf(results);
      for (const s of this.counts) s.requestSucceeded({ ...times, totalNs: Number(nowNs() - started), rows });
      return outputs;
    } catch (error) {
      this.statistics.requestFailed(Number(nowNs() - started));
      throw error;
    } finally {
      for (const s of this.counts) s.ended();
    }
  }

  private async runRow(row: Row, signal: AbortSignal) {
    const waitStart = nowNs();
    await this.admission.acquire(signal);
    const waitedUs = Number(nowNs() - waitStart) / 1000;
    try {
      const outcome = await this.runner.process({ ...row, statistics: this.counts });
      return outcome.kind === "done" ? { ...outcome, timing: { ...outcome.timing, queueUs: outcome.timing.queueUs + waitedUs } } : outcome;
    } finally {
      this.admission.release();
    }
  }

  /** Inputs against the model's description; returns the number of rows. */
  private check(request: InferRequest): number {
    const { inputs, outputs, batching } = this.spec;
    for (const name of request.inputs.keys()) {
      if (!inputs.some((i) => i.name === name))
        throw new ProtocolError(`unexpected input "${name}" for model "${this.name}"; it takes ${inputs.map((i) => i.name).join(", ")}`);
    }
    let rows: number | undefined;
    for (const spec of inputs) {
      const tensor = request.inputs.get(spec.name);
      if (!tensor) {
        if (spec.optional) continue;
        throw new ProtocolError(
          `input "${spec.name}" is missing; model "${this.name}" needs ${inputs
            .filter((i) => !i.optional)
            .map((i) => i.name)
            .join(", ")}`,
        );
      }
      if (tensor.datatype !== spec.datatype) throw new ProtocolError(`input "${spec.name}": datatype ${tensor.datatype}, expected ${spec.datatype}`);
      const [batch, ...dims] = tensor.shape;
      const fits = dims.length === spec.dims.length && dims.every((d, i) => spec.dims[i] === -1 || spec.dims[i] === d);
      if (batch === undefined || !fits)
        throw new ProtocolError(`input "${spec.name}": shape [${tensor.shape}], expected [-1,${spec.dims}] (the first axis is the batch)`);
      if (batch < 1 || batch > batching.maxBatchSize)
        throw new ProtocolError(`input "${spec.name}": batch of ${batch}; model "${this.name}" takes 1 to ${batching.maxBatchSize} rows`);
      if (rows !== undefined && batch !== rows) throw new ProtocolError(`input "${spec.name}" has ${batch} rows but the other inputs have ${rows}`);
      rows = batch;
    }
    for (const wanted of request.outputs ?? []) {
      if (!outputs.some((o) => o.name === wanted.name))
        throw new ProtocolError(`unknown output "${wanted.name}"; model "${this.name}" gives ${outputs.map((o) => o.name).join(", ")}`);
    }
    return rows!;
  }

  /** Model metadata (GET /v2/models/<name>). */
  metadata(): Record<string, unknown> {
    const tensor = (t: TensorSpec) => ({ name: t.name, datatype: t.datatype, shape: [-1, ...t.dims] });
    return {
      name: this.name,
      versions: [this.version],
      platform: this.spec.platform,
      inputs: this.spec.inputs.map(tensor),
      outputs: this.spec.outputs.map(tensor),
    };
  }

  /** Model configuration (GET /v2/models/<name>/config), in Triton's ModelConfig JSON form. */
  config(): Record<string, unknown> {
    const typeName = (d: DataType) => `TYPE_${d === "BYTES" ? "STRING" : d}`;
    const tensor = (t: TensorSpec) => ({ name: t.name, data_type: typeName(t.datatype), dims: t.dims, ...(t.optional ? { optional: true } : {}) });
    const { batching } = this.spec;
    return {
      name: this.name,
      platform: this.spec.platform,
      backend: "emb",
      version_policy: { latest: { num_versions: 1 } },
      max_batch_size: batching.maxBatchSize,
      input: this.spec.inputs.map(tensor),
      output: this.spec.outputs.map(tensor),
      dynamic_batching: { preferred_batch_size: [batching.maxBatchSize], max_queue_delay_microseconds: batching.maxQueueDelayUs },
      instance_group: [{ name: this.name, kind: "KIND_CPU", count: batching.maxInFlight ?? 1 }],
      parameters: Object.fromEntries(Object.entries(this.spec.parameters ?? {}).map(([k, v]) => [k, { string_value: v }])),
    };
  }
}
