/**
 * The KServe v2 / Triton inference wire formats. Over HTTP: requests as JSON, JSON followed by
 * binary tensor data (Triton's binary tensor extension, `Inference-Header-Content-Length`), or a
 * raw body that is the one input's data; responses in JSON or with binary outputs. What the gRPC
 * side (grpc.ts) shares with it is here too: checking the inputs' names, datatypes and shapes
 * (readInputs), reading tensor data from raw bytes (tensorFromBytes) or from lists of values
 * (dataFromValues), choosing the outputs asked for and their raw bytes. Everything a client can
 * get wrong is a ProtocolError naming the field, answered with a 400 (gRPC: INVALID_ARGUMENT).
 */

export type DataType = "BOOL" | "UINT8" | "UINT16" | "UINT32" | "UINT64" | "INT8" | "INT16" | "INT32" | "INT64" | "FP16" | "FP32" | "FP64" | "BYTES";

/** Bytes per element of the fixed-size types. */
const ELEMENT_BYTES: Record<Exclude<DataType, "BYTES">, number> = {
  BOOL: 1,
  UINT8: 1,
  UINT16: 2,
  UINT32: 4,
  UINT64: 8,
  INT8: 1,
  INT16: 2,
  INT32: 4,
  INT64: 8,
  FP16: 2,
  FP32: 4,
  FP64: 8,
};

export const DATA_TYPES = [...Object.keys(ELEMENT_BYTES), "BYTES"] as DataType[];

/** A tensor's elements: numbers for numeric types (INT64 as numbers: ids and counts fit), byte strings for BYTES. */
export type TensorData = { kind: "numbers"; values: ArrayLike<number> } | { kind: "bytes"; values: Buffer[] };

export interface Tensor {
  name: string;
  datatype: DataType;
  shape: number[];
  data: TensorData;
}

export interface InferRequest {
  id?: string;
  parameters: Record<string, unknown>;
  inputs: Map<string, Tensor>;
  /** Outputs asked for, with whether each wants binary data; undefined: all, as the request's default. */
  outputs?: { name: string; binary?: boolean }[];
  /** All outputs as binary unless an output says otherwise (binary_data_output, or a raw request). */
  binaryByDefault: boolean;
}

export class ProtocolError extends Error {
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = "ProtocolError";
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

export const elementCount = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * Parses an infer request body. `headerLength` is the Inference-Header-Content-Length header:
 * undefined for plain JSON, 0 for a raw body (the whole body is the data of the model's only
 * input, `rawInput`), else the JSON header's length with binary data after it.
 */
export function parseInferRequest(body: Buffer, headerLength: number | undefined, rawInput: { name: string; datatype: DataType } | undefined): InferRequest {
  if (headerLength === 0) {
    if (!rawInput) throw new ProtocolError("a raw binary request (Inference-Header-Content-Length: 0) needs a model with exactly one input");
    const data: TensorData = rawInput.datatype === "BYTES" ? { kind: "bytes", values: [body] } : numbersFromBinary(body, rawInput.datatype, rawInput.name);
    const count = data.kind === "bytes" ? 1 : data.values.length;
    return {
      parameters: {},
      inputs: new Map([[rawInput.name, { name: rawInput.name, datatype: rawInput.datatype, shape: [1, count], data }]]),
      binaryByDefault: true,
    };
  }
  if (headerLength !== undefined && headerLength > body.length) {
    throw new ProtocolError(`Inference-Header-Content-Length ${headerLength} is larger than the body (${body.length} bytes)`);
  }
  const jsonPart = headerLength === undefined ? body : body.subarray(0, headerLength);
  let header: unknown;
  try {
    header = JSON.parse(jsonPart.toString("utf8"));
  } catch (error) {
    throw new ProtocolError(`the request is not valid JSON: ${(error as Error).message}`);
  }
  if (!isRecord(header)) throw new ProtocolError('the request must be a JSON object with an "inputs" list');
  const binary = headerLength === undefined ? Buffer.alloc(0) : body.subarray(headerLength);
  return parseHeader(header, binary);
}

function parseHeader(header: Record<string, unknown>, binary: Buffer): InferRequest {
  if (header.id !== undefined && typeof header.id !== "string") throw new ProtocolError('"id" must be a string');
  const parameters = header.parameters === undefined ? {} : header.parameters;
  if (!isRecord(parameters)) throw new ProtocolError('"parameters" must be an object');
  let offset = 0;
  const inputs = readInputs(header.inputs, (tensor, raw) => {
    const params = raw.parameters === undefined ? {} : raw.parameters;
    if (!isRecord(params)) throw new ProtocolError(`input "${tensor.name}": "parameters" must be an object`);
    const size = params.binary_data_size;
    if (size === undefined) {
      if (raw.data === undefined) throw new ProtocolError(`input "${tensor.name}" has neither "data" nor a binary_data_size parameter`);
      const flat: unknown[] = [];
      flatten(raw.data, flat);
      return dataFromValues(flat, tensor.datatype, tensor.name);
    }
    if (typeof size !== "number" || !Number.isInteger(size) || size < 0)
      throw new ProtocolError(`input "${tensor.name}": binary_data_size must be a non-negative integer`);
    if (offset + size > binary.length) {
      throw new ProtocolError(`input "${tensor.name}": binary_data_size ${size} runs past the end of the binary data (${binary.length - offset} bytes left)`);
    }
    const chunk = binary.subarray(offset, offset + size);
    offset += size;
    return tensorFromBytes(chunk, tensor.datatype, tensor.name);
  });
  if (offset !== binary.length) throw new ProtocolError(`${binary.length - offset} bytes of binary data follow the inputs that no input claims`);
  const binaryByDefault = parameters.binary_data_output === true;
  let outputs: InferRequest["outputs"];
  if (header.outputs !== undefined) {
    if (!Array.isArray(header.outputs)) throw new ProtocolError('"outputs" must be a list');
    outputs = header.outputs.map((o, i) => {
      if (!isRecord(o) || typeof o.name !== "string") throw new ProtocolError(`outputs[${i}] must be an object with a "name"`);
      const p = isRecord(o.parameters) ? o.parameters : {};
      return { name: o.name, binary: typeof p.binary_data === "boolean" ? p.binary_data : undefined };
    });
  }
  return { id: header.id as string | undefined, parameters, inputs, outputs, binaryByDefault };
}

/** An input's name, datatype and shape, checked. */
export type TensorHeader = Omit<Tensor, "data">;

/**
 * A request's inputs, whatever the wire: each one's header (name, datatype, shape) is checked,
 * `dataOf` reads its elements, which must fill the shape, and no name comes twice.
 */
export function readInputs(raws: unknown, dataOf: (tensor: TensorHeader, raw: Record<string, unknown>, index: number) => TensorData): Map<string, Tensor> {
  if (!Array.isArray(raws) || raws.length === 0) throw new ProtocolError('the request needs a non-empty "inputs" list');
  const inputs = new Map<string, Tensor>();
  for (const [i, raw] of raws.entries()) {
    if (!isRecord(raw)) throw new ProtocolError(`inputs[${i}] must be an object`);
    const tensor = parseTensorHeader(raw, `inputs[${i}]`);
    if (inputs.has(tensor.name)) throw new ProtocolError(`input "${tensor.name}" is given twice`);
    const data = dataOf(tensor, raw, i);
    const expected = elementCount(tensor.shape);
    const got = data.values.length;
    if (got !== expected) throw new ProtocolError(`input "${tensor.name}": shape [${tensor.shape}] has ${expected} elements but ${got} were sent`);
    inputs.set(tensor.name, { ...tensor, data });
  }
  return inputs;
}

function parseTensorHeader(raw: Record<string, unknown>, where: string): TensorHeader {
  if (typeof raw.name !== "string" || raw.name === "") throw new ProtocolError(`${where} needs a "name"`);
  const name = raw.name;
  if (typeof raw.datatype !== "string" || !DATA_TYPES.includes(raw.datatype as DataType)) {
    throw new ProtocolError(`input "${name}": datatype ${JSON.stringify(raw.datatype)} is not one of ${DATA_TYPES.join(", ")}`);
  }
  if (!Array.isArray(raw.shape) || !raw.shape.every((d) => typeof d === "number" && Number.isInteger(d) && d >= 0)) {
    throw new ProtocolError(`input "${name}": "shape" must be a list of non-negative integers`);
  }
  return { name, datatype: raw.datatype as DataType, shape: raw.shape as number[] };
}

/** JSON data may be flat or nested row-major lists. */
function flatten(value: unknown, out: unknown[]): void {
  if (Array.isArray(value)) for (const v of value) flatten(v, out);
  else out.push(value);
}

/**
 * Elements given as values (JSON's flattened "data", gRPC's typed contents): strings or byte
 * strings for BYTES, finite numbers for the other types (integers for the integer types; BOOL
 * takes booleans too).
 */
export function dataFromValues(flat: readonly unknown[], datatype: DataType, name: string): TensorData {
  if (datatype === "BYTES") {
    return {
      kind: "bytes",
      values: flat.map((v, i) => {
        if (typeof v === "string") return Buffer.from(v, "utf8");
        if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
        throw new ProtocolError(`input "${name}": BYTES data must be strings; element ${i} is ${JSON.stringify(v)?.slice(0, 40)}`);
      }),
    };
  }
  const values = new Float64Array(flat.length);
  flat.forEach((v, i) => {
    const n = datatype === "BOOL" && typeof v === "boolean" ? Number(v) : v;
    if (typeof n !== "number" || !Number.isFinite(n))
      throw new ProtocolError(`input "${name}": ${datatype} data must be numbers; element ${i} is ${JSON.stringify(v)?.slice(0, 40)}`);
    if (datatype !== "FP16" && datatype !== "FP32" && datatype !== "FP64" && !Number.isInteger(n)) {
      throw new ProtocolError(`input "${name}": ${datatype} data must be integers; element ${i} is ${n}`);
    }
    values[i] = n;
  });
  return { kind: "numbers", values };
}

/** A tensor's data in binary form (HTTP binary data, gRPC raw_input_contents): little-endian elements, BYTES length-prefixed. */
export function tensorFromBytes(chunk: Buffer, datatype: DataType, name: string): TensorData {
  return datatype === "BYTES" ? bytesFromBinary(chunk, name) : numbersFromBinary(chunk, datatype, name);
}

/** BYTES in binary form: each element a little-endian uint32 length and that many bytes. */
function bytesFromBinary(chunk: Buffer, name: string): TensorData {
  const values: Buffer[] = [];
  let at = 0;
  while (at < chunk.length) {
    if (at + 4 > chunk.length) throw new ProtocolError(`input "${name}": BYTES element ${values.length} has a truncated length prefix`);
    const length = chunk.readUInt32LE(at);
    if (at + 4 + length > chunk.length)
      throw new ProtocolError(`input "${name}": BYTES element ${values.length} says ${length} bytes but only ${chunk.length - at - 4} follow`);
    values.push(chunk.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  return { kind: "bytes", values };
}

function numbersFromBinary(chunk: Buffer, datatype: DataType, name: string): TensorData {
  if (datatype === "BYTES" || datatype === "FP16") throw new ProtocolError(`input "${name}": binary ${datatype} data is not accepted here`);
  const size = ELEMENT_BYTES[datatype];
  if (chunk.length % size !== 0)
    throw new ProtocolError(`input "${name}": ${chunk.length} bytes is not a whole number of ${datatype} elements (${size} bytes each)`);
  const n = chunk.length / size;
  const values = new Float64Array(n);
  const read: Record<string, (at: number) => number> = {
    BOOL: (at) => chunk.readUInt8(at),
    UINT8: (at) => chunk.readUInt8(at),
    UINT16: (at) => chunk.readUInt16LE(at),
    UINT32: (at) => chunk.readUInt32LE(at),
    UINT64: (at) => Number(chunk.readBigUInt64LE(at)),
    INT8: (at) => chunk.readInt8(at),
    INT16: (at) => chunk.readInt16LE(at),
    INT32: (at) => chunk.readInt32LE(at),
    INT64: (at) => Number(chunk.readBigInt64LE(at)),
    FP32: (at) => chunk.readFloatLE(at),
    FP64: (at) => chunk.readDoubleLE(at),
  };
  const get = read[datatype];
  for (let i = 0; i < n; i++) values[i] = get(i * size);
  return { kind: "numbers", values };
}

/** One output of a response; FP32 data as a Float32Array keeps float32 values exact in both forms. */
export interface OutputTensor {
  name: string;
  datatype: "FP32" | "BYTES";
  shape: number[];
  data: Float32Array | Buffer[];
}

export interface EncodedResponse {
  body: Buffer;
  /** Set when binary data follows the JSON: the Inference-Header-Content-Length to send. */
  headerLength?: number;
}

/** An output's data in binary form: float32 little-endian, BYTES elements length-prefixed. */
export function outputBytes(output: OutputTensor): Buffer {
  if (output.data instanceof Float32Array) return Buffer.from(output.data.buffer, output.data.byteOffset, output.data.byteLength);
  return bytesElements(output.data);
}

/** BYTES elements in binary form (requests and responses alike): each a little-endian uint32 length, then its bytes. */
export function bytesElements(elements: Buffer[]): Buffer {
  const parts: Buffer[] = [];
  for (const element of elements) {
    const length = Buffer.alloc(4);
    length.writeUInt32LE(element.length);
    parts.push(length, element);
  }
  return Buffer.concat(parts);
}

/** The outputs a request asked for, in its order (all of them when it named none), with whether each wants binary data. */
export function selectOutputs(request: Pick<InferRequest, "outputs">, outputs: OutputTensor[]): { output: OutputTensor; binary?: boolean }[] {
  if (!request.outputs) return outputs.map((output) => ({ output }));
  return request.outputs.map((w) => ({ output: outputs.find((o) => o.name === w.name)!, binary: w.binary }));
}

export function encodeInferResponse(
  model: { name: string; version: string },
  request: Pick<InferRequest, "id" | "outputs" | "binaryByDefault">,
  outputs: OutputTensor[],
): EncodedResponse {
  const binaries: Buffer[] = [];
  const described = selectOutputs(request, outputs).map(({ output, binary }) => {
    const head = { name: output.name, datatype: output.datatype, shape: output.shape };
    if (binary ?? request.binaryByDefault) {
      const data = outputBytes(output);
      binaries.push(data);
      return { ...head, parameters: { binary_data_size: data.length } };
    }
    const data = output.data instanceof Float32Array ? Array.from(output.data) : output.data.map((b) => b.toString("utf8"));
    return { ...head, data };
  });
  const json = Buffer.from(
    JSON.stringify({ model_name: model.name, model_version: model.version, ...(request.id !== undefined ? { id: request.id } : {}), outputs: described }),
  );
  if (binaries.length === 0) return { body: json };
  return { body: Buffer.concat([json, ...binaries]), headerLength: json.length };
}
