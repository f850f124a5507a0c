/**
 * The gRPC side of `emb serve`: Triton's GRPCInferenceService (src/serve/grpc/inference.proto,
 * wire-compatible with Triton's grpc_service.proto) over the same endpoints as the HTTP side,
 * for the clients that speak only gRPC (perf_analyzer -i grpc, the one way it sends request
 * parameters; tritonclient.grpc). Requests become the same InferRequest as an HTTP request does
 * (raw_input_contents or typed contents; parameters as their values) and responses carry their
 * outputs in raw_output_contents as Triton's do. A bad request is INVALID_ARGUMENT naming the
 * problem (NOT_FOUND for an unknown model, UNAUTHENTICATED without the token) and never stops the
 * server; other failures are INTERNAL and logged. The token guards everything but ServerLive and
 * ServerReady; an infer request whose message would take the server over its byte budget is
 * UNAVAILABLE (retry later); `drain()` answers the calls in flight before closing.
 */
import {
  Server,
  ServerCredentials,
  status,
  type Metadata,
  type ServerDuplexStream,
  type ServerUnaryCall,
  type ServiceDefinition,
  type StatusObject,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { loadSync, type Options, type PackageDefinition } from "@grpc/proto-loader";
import { join } from "node:path";
import { packageRoot } from "../package-root.js";
import { InFlight, shuttingDown } from "./drain.js";
import type { ServedEndpoint } from "./endpoint.js";
import {
  dataFromValues,
  elementCount,
  outputBytes,
  ProtocolError,
  readInputs,
  selectOutputs,
  tensorFromBytes,
  type DataType,
  type InferRequest,
  type OutputTensor,
} from "./protocol.js";
import { checkBearer, ServedModels, serverMetadata, type ServiceOptions } from "./service.js";

/** The service's .proto, shipped in the package (package.json "files"). */
export const grpcProtoPath = (): string => join(packageRoot(), "src", "serve", "grpc", "inference.proto");

/** How messages look in JavaScript, on both sides: the proto's field names, int64 as numbers, enums by name, bytes as Buffers, oneofs named. */
export const GRPC_LOADER_OPTIONS: Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  bytes: Buffer,
  defaults: false,
  arrays: true,
  objects: true,
  oneofs: true,
};

export function loadInferenceProto(): PackageDefinition {
  return loadSync(grpcProtoPath(), GRPC_LOADER_OPTIONS);
}

/** An InferParameter as decoded: the value under the name `parameter_choice` gives. */
type GrpcParameter = { parameter_choice?: string } & Record<string, unknown>;
type GrpcParameters = Record<string, GrpcParameter> | undefined;

type ContentsField =
  | "bool_contents"
  | "int_contents"
  | "int64_contents"
  | "uint_contents"
  | "uint64_contents"
  | "fp32_contents"
  | "fp64_contents"
  | "bytes_contents";
type GrpcContents = Partial<Record<ContentsField, unknown[]>>;

export interface GrpcInferRequest {
  model_name?: string;
  model_version?: string;
  id?: string;
  parameters?: GrpcParameters;
  inputs?: { name?: string; datatype?: string; shape?: number[]; parameters?: GrpcParameters; contents?: GrpcContents }[];
  outputs?: { name?: string; parameters?: GrpcParameters }[];
  raw_input_contents?: Buffer[];
}

export interface GrpcInferResponse {
  model_name: string;
  model_version: string;
  id: string;
  outputs: { name: string; datatype: string; shape: number[] }[];
  raw_output_contents: Buffer[];
}

/** Where each datatype's elements go in InferTensorContents (FP16 has no list: raw bytes only). */
const CONTENTS_FIELD: Partial<Record<DataType, ContentsField>> = {
  BOOL: "bool_contents",
  INT8: "int_contents",
  INT16: "int_contents",
  INT32: "int_contents",
  INT64: "int64_contents",
  UINT8: "uint_contents",
  UINT16: "uint_contents",
  UINT32: "uint_contents",
  UINT64: "uint64_contents",
  FP32: "fp32_contents",
  FP64: "fp64_contents",
  BYTES: "bytes_contents",
};
const CONTENTS_FIELDS = [...new Set(Object.values(CONTENTS_FIELD))];

/** Request, tensor or output parameters as plain values (bool_param true is true). */
export function parametersFromGrpc(parameters: GrpcParameters, where: string): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const [name, parameter] of Object.entries(parameters ?? {})) {
    const choice = parameter?.parameter_choice;
    if (!choice) throw new ProtocolError(`${where}parameter "${name}" has no value`);
    values[name] = parameter[choice];
  }
  return values;
}

/** A ModelInferRequest as the endpoints take it. */
export function inferRequestFromGrpc(message: GrpcInferRequest): InferRequest {
  const raw = message.raw_input_contents ?? [];
  const given = message.inputs ?? [];
  if (raw.length > 0 && raw.length !== given.length) {
    throw new ProtocolError(`raw_input_contents has ${raw.length} entries for ${given.length} inputs; send one per input, in the order of "inputs", or none`);
  }
  const inputs = readInputs(given, (tensor, fields, i) => {
    const params = parametersFromGrpc(fields.parameters as GrpcParameters, `input "${tensor.name}": `);
    if ("shared_memory_region" in params)
      throw new ProtocolError(`input "${tensor.name}": this server has no shared memory; send the data in raw_input_contents`);
    const contents = (fields.contents ?? {}) as GrpcContents;
    const filled = CONTENTS_FIELDS.find((f) => (contents[f]?.length ?? 0) > 0);
    if (raw.length > 0) {
      if (filled) throw new ProtocolError(`input "${tensor.name}" has data both in contents.${filled} and in raw_input_contents; send one`);
      return tensorFromBytes(raw[i], tensor.datatype, tensor.name);
    }
    const field = CONTENTS_FIELD[tensor.datatype];
    if (!field) throw new ProtocolError(`input "${tensor.name}": ${tensor.datatype} data can only come in raw_input_contents`);
    if (filled !== undefined && filled !== field)
      throw new ProtocolError(`input "${tensor.name}": ${tensor.datatype} data goes in contents.${field}, not contents.${filled}`);
    if (filled === undefined && elementCount(tensor.shape) > 0)
      throw new ProtocolError(`input "${tensor.name}" has no data: send it in raw_input_contents or contents.${field}`);
    return dataFromValues(contents[field] ?? [], tensor.datatype, tensor.name);
  });
  const outputs = message.outputs?.length
    ? message.outputs.map((o, i) => {
        if (!o.name) throw new ProtocolError(`outputs[${i}] needs a "name"`);
        const params = parametersFromGrpc(o.parameters, `output "${o.name}": `);
        if ("shared_memory_region" in params)
          throw new ProtocolError(`output "${o.name}": this server has no shared memory; outputs come in raw_output_contents`);
        if ("classification" in params) throw new ProtocolError(`output "${o.name}": this server does not classify outputs`);
        return { name: o.name };
      })
    : undefined;
  return { id: message.id || undefined, parameters: parametersFromGrpc(message.parameters, ""), inputs, outputs, binaryByDefault: true };
}

/** The answer to a ModelInferRequest: the outputs asked for, their data in raw_output_contents. */
export function inferResponseToGrpc(
  model: { name: string; version: string },
  request: Pick<InferRequest, "id" | "outputs">,
  outputs: OutputTensor[],
): GrpcInferResponse {
  const chosen = selectOutputs(request, outputs).map((o) => o.output);
  return {
    model_name: model.name,
    model_version: model.version,
    id: request.id ?? "",
    outputs: chosen.map((o) => ({ name: o.name, datatype: o.datatype, shape: o.shape })),
    raw_output_contents: chosen.map(outputBytes),
  };
}

/** ProtocolError's HTTP statuses as gRPC codes. */
const CODES: Record<number, status> = { 401: status.UNAUTHENTICATED, 404: status.NOT_FOUND, 413: status.RESOURCE_EXHAUSTED, 503: status.UNAVAILABLE };

export interface GrpcServerOptions extends ServiceOptions {
  /** Largest request message accepted, in bytes. */
  maxMessageBytes: number;
}

interface NameVersion {
  name?: string;
  version?: string;
}

export class GrpcInferenceServer {
  private readonly server: Server;
  private readonly models: ServedModels;
  private readonly inFlight = new InFlight();
  /** Open ModelStreamInfer streams: each ends once its answers are written. */
  private readonly streams = new Set<() => void>();
  /** Each infer request's size on the wire, by its decoded message: what it takes from the budget. */
  private readonly received = new WeakMap<object, number>();

  constructor(
    endpoints: ServedEndpoint[],
    private readonly options: GrpcServerOptions,
  ) {
    this.models = new ServedModels(endpoints);
    this.server = new Server({ "grpc.max_receive_message_length": options.maxMessageBytes });
    const service = loadInferenceProto()["inference.GRPCInferenceService"] as ServiceDefinition;
    this.server.addService(this.measured(service), this.handlers());
  }

  /** The service with the infer methods' decoders noting each message's size (handlers see only the decoded message). */
  private measured(service: ServiceDefinition): ServiceDefinition {
    const out: Record<string, ServiceDefinition[string]> = { ...service };
    for (const name of ["ModelInfer", "ModelStreamInfer"]) {
      const method = service[name];
      out[name] = {
        ...method,
        requestDeserialize: (bytes: Buffer) => {
          const message = method.requestDeserialize(bytes);
          if (typeof message === "object" && message !== null) this.received.set(message, bytes.length);
          return message;
        },
      };
    }
    return out;
  }

  /** Binds host:port (0: any free port); resolves with the port bound. */
  listen(port: number, host: string): Promise<number> {
    const address = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
    return new Promise((resolve, reject) => {
      this.server.bindAsync(address, ServerCredentials.createInsecure(), (error, bound) => {
        if (!error) return resolve(bound);
        const inUse = /EADDRINUSE/.test(error.message);
        reject(new Error(`cannot serve gRPC on ${address}: ${inUse ? "the port is in use" : error.message}`));
      });
    });
  }

  /** Refuses new calls (UNAVAILABLE), answers those in flight, ends open streams, then closes. */
  drain(): Promise<void> {
    return this.inFlight.drain(
      () => {
        for (const end of this.streams) end();
      },
      () => this.shutdown(),
    );
  }

  private shutdown(): Promise<void> {
    return new Promise<void>((resolve) => {
      // Every call is answered: connections that do not close within a few seconds are cut.
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, 5000);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private handlers(): UntypedServiceImplementation {
    const find = (r: NameVersion) => this.models.find(r.name ?? "", r.version);
    return {
      ServerLive: this.unary(true, () => ({ live: true })),
      ServerReady: this.unary(true, () => ({ ready: true })),
      ModelReady: this.unary(false, (r: NameVersion) => {
        find(r);
        return { ready: true };
      }),
      ServerMetadata: this.unary(false, () => serverMetadata(this.options.version)),
      ModelMetadata: this.unary(false, (r: NameVersion) => find(r).metadata()),
      ModelConfig: this.unary(false, (r: NameVersion) => ({ config: find(r).config() })),
      ModelStatistics: this.unary(false, (r: NameVersion) => ({ model_stats: this.models.statistics(r.name, r.version) })),
      RepositoryIndex: this.unary(false, () => ({ models: this.models.index() })),
      ModelInfer: this.unary(false, (r: GrpcInferRequest, signal) => this.infer(r, signal)),
      ModelStreamInfer: (call: ServerDuplexStream<GrpcInferRequest, unknown>) => this.stream(call),
    };
  }

  private async infer(message: GrpcInferRequest, signal: AbortSignal): Promise<GrpcInferResponse> {
    const endpoint = this.models.find(message.model_name ?? "", message.model_version);
    const request = inferRequestFromGrpc(message);
    const outputs = await endpoint.infer(request, signal);
    return inferResponseToGrpc(endpoint, request, outputs);
  }

  /** A unary method: counted in flight, refused while draining, guarded by the token unless `open`. */
  private unary<Req, Res>(open: boolean, answer: (request: Req, signal: AbortSignal) => Res | Promise<Res>) {
    return (call: ServerUnaryCall<Req, Res>, callback: (error: Partial<StatusObject> | null, value?: Res) => void): void => {
      const gone = new AbortController();
      call.on("cancelled", () => gone.abort(new Error("the client cancelled the call")));
      const lease = this.options.budget.lease();
      this.inFlight
        .track(async () => {
          this.admit(call.metadata, open);
          lease.take(this.received.get(call.request as object) ?? 0);
          return answer(call.request, gone.signal);
        })
        .finally(() => lease.release())
        .then(
          (response) => callback(null, response),
          (error: unknown) => callback(this.failure(error, call.getPath(), gone.signal.aborted)),
        );
    };
  }

  /**
   * ModelStreamInfer: each request answered on the stream as it completes (its id tells which),
   * a failed one by an error_message; the stream ends after the client's end and the last answer.
   */
  private stream(call: ServerDuplexStream<GrpcInferRequest, unknown>): void {
    try {
      this.admit(call.metadata, false);
    } catch (error) {
      call.emit("error", this.failure(error, call.getPath(), false));
      return;
    }
    const gone = new AbortController();
    call.on("cancelled", () => gone.abort(new Error("the client cancelled the stream")));
    let pending = 0;
    let ended = false;
    const finish = () => {
      if (!ended || pending > 0) return;
      this.streams.delete(end);
      call.end();
    };
    const end = () => {
      ended = true;
      finish();
    };
    this.streams.add(end);
    call.on("data", (message: GrpcInferRequest) => {
      const reject = (error: unknown) =>
        call.write({
          error_message: this.failure(error, call.getPath(), gone.signal.aborted).details,
          infer_response: { model_name: message.model_name, id: message.id },
        });
      if (ended) return reject(shuttingDown());
      pending++;
      const lease = this.options.budget.lease();
      this.inFlight
        .track(async () => {
          lease.take(this.received.get(message) ?? 0);
          return this.infer(message, gone.signal);
        })
        .finally(() => lease.release())
        .then((infer_response) => call.write({ infer_response }), reject)
        .finally(() => {
          pending--;
          finish();
        });
    });
    call.on("end", end);
    call.on("error", () => {
      this.streams.delete(end);
      ended = true;
    });
  }

  private admit(metadata: Metadata, open: boolean): void {
    if (this.inFlight.draining) throw shuttingDown();
    if (open) return;
    const authorization = metadata.get("authorization")[0];
    checkBearer(authorization === undefined ? undefined : String(authorization), this.options.token);
  }

  /** A failure as a gRPC status; server-side ones are logged unless the client had gone. */
  private failure(error: unknown, method: string, cancelled: boolean): Partial<StatusObject> & { details: string } {
    if (error instanceof ProtocolError) return { code: CODES[error.status] ?? status.INVALID_ARGUMENT, details: error.message };
    const message = error instanceof Error ? error.message : String(error);
    if (!cancelled) this.options.onError?.(`gRPC ${method}: ${message}`);
    return { code: status.INTERNAL, details: message };
  }
}
