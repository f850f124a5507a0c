/**
 * Float32 matrix products on onnxruntime's CPU kernels (MLAS, tuned per instruction set): a
 * one-node Gemm graph built in memory, so exact nearest-neighbour search can score a block of
 * queries against every reference in one call instead of one dot product at a time in JavaScript.
 */
import { checkCommandLineLength } from "./command-line.js";
import * as ort from "onnxruntime-node";
import protobuf from "protobufjs";
import { sessionOptions } from "./session.js";

/**
 * The part of onnx.proto (field numbers as published by the ONNX project) that a graph of one
 * Gemm node needs.
 */
const onnxSchema = protobuf.Root.fromJSON({
  nested: {
    ModelProto: {
      fields: {
        irVersion: { id: 1, type: "int64" },
        producerName: { id: 2, type: "string" },
        graph: { id: 7, type: "GraphProto" },
        opsetImport: { id: 8, type: "OperatorSetIdProto", rule: "repeated" },
      },
    },
    OperatorSetIdProto: { fields: { domain: { id: 1, type: "string" }, version: { id: 2, type: "int64" } } },
    GraphProto: {
      fields: {
        node: { id: 1, type: "NodeProto", rule: "repeated" },
        name: { id: 2, type: "string" },
        input: { id: 11, type: "ValueInfoProto", rule: "repeated" },
        output: { id: 12, type: "ValueInfoProto", rule: "repeated" },
      },
    },
    NodeProto: {
      fields: {
        input: { id: 1, type: "string", rule: "repeated" },
        output: { id: 2, type: "string", rule: "repeated" },
        name: { id: 3, type: "string" },
        opType: { id: 4, type: "string" },
        attribute: { id: 5, type: "AttributeProto", rule: "repeated" },
      },
    },
    AttributeProto: {
      fields: {
        name: { id: 1, type: "string" },
        i: { id: 3, type: "int64" },
        ints: { id: 8, type: "int64", rule: "repeated" },
        type: { id: 20, type: "int32" },
      },
    },
    ValueInfoProto: { fields: { name: { id: 1, type: "string" }, type: { id: 2, type: "TypeProto" } } },
    TypeProto: { fields: { tensorType: { id: 1, type: "TensorTypeProto" } } },
    TensorTypeProto: { fields: { elemType: { id: 1, type: "int32" }, shape: { id: 2, type: "TensorShapeProto" } } },
    TensorShapeProto: { fields: { dim: { id: 1, type: "Dimension", rule: "repeated" } } },
    Dimension: { fields: { dimValue: { id: 1, type: "int64" }, dimParam: { id: 2, type: "string" } } },
  },
});

const FLOAT = 1;
const ATTRIBUTE_INT = 2;
const ATTRIBUTE_INTS = 7;

/** A float matrix input or output whose dimensions are named (any size at run time). */
const matrix = (name: string, rows: string, cols: string) => ({
  name,
  type: { tensorType: { elemType: FLOAT, shape: { dim: [{ dimParam: rows }, { dimParam: cols }] } } },
});

/**
 * products = a x bᵀ: a [m, k], b [n, k] (both row-major, as vectors are stored), products [m, n];
 * with `rowMax`, also each row's largest product ([m]), so a caller looking for products above a
 * threshold reads only the rows that have one.
 */
export function gemmTransposedModel(rowMax = false): Uint8Array {
  const Model = onnxSchema.lookupType("ModelProto");
  const gemm = { name: "gemm", opType: "Gemm", input: ["a", "b"], output: ["products"], attribute: [{ name: "transB", i: 1, type: ATTRIBUTE_INT }] };
  const max = {
    name: "row_max",
    opType: "ReduceMax",
    input: ["products"],
    output: ["row_max"],
    attribute: [
      { name: "axes", ints: [1], type: ATTRIBUTE_INTS },
      { name: "keepdims", i: 0, type: ATTRIBUTE_INT },
    ],
  };
  const rowMaxOutput = { name: "row_max", type: { tensorType: { elemType: FLOAT, shape: { dim: [{ dimParam: "m" }] } } } };
  const model = {
    irVersion: 8,
    producerName: "emb",
    opsetImport: [{ domain: "", version: 13 }],
    graph: {
      name: "a_times_b_transposed",
      node: rowMax ? [gemm, max] : [gemm],
      input: [matrix("a", "m", "k"), matrix("b", "n", "k")],
      output: rowMax ? [matrix("products", "m", "n"), rowMaxOutput] : [matrix("products", "m", "n")],
    },
  };
  return Model.encode(Model.fromObject(model)).finish();
}

/** An onnxruntime CPU session computing a x bᵀ. */
export class TransposedProduct {
  private constructor(private readonly session: ort.InferenceSession) {}

  /** `threads` 0 or undefined: onnxruntime's default (every core); `rowMax`: runWithRowMax's graph. */
  static async open(threads?: number, rowMax = false): Promise<TransposedProduct> {
    checkCommandLineLength();
    return new TransposedProduct(await ort.InferenceSession.create(gemmTransposedModel(rowMax), sessionOptions("cpu", threads)));
  }

  /** a [m, k] x b[n, k]ᵀ, row-major [m, n]. */
  async run(a: Float32Array, b: Float32Array, k: number): Promise<Float32Array> {
    return (await this.outputs(a, b, k)).products.data as Float32Array;
  }

  /** run's products and each row's largest (opened with `rowMax`). */
  async runWithRowMax(a: Float32Array, b: Float32Array, k: number): Promise<{ products: Float32Array; rowMax: Float32Array }> {
    const result = await this.outputs(a, b, k);
    if (!result.row_max) throw new Error("this product was opened without rowMax");
    return { products: result.products.data as Float32Array, rowMax: result.row_max.data as Float32Array };
  }

  private async outputs(a: Float32Array, b: Float32Array, k: number): Promise<ort.InferenceSession.OnnxValueMapType> {
    if (k <= 0 || a.length % k !== 0 || b.length % k !== 0) {
      throw new Error(`matrix sizes ${a.length} and ${b.length} are not whole rows of ${k}`);
    }
    return this.session.run({
      a: new ort.Tensor("float32", a, [a.length / k, k]),
      b: new ort.Tensor("float32", b, [b.length / k, k]),
    });
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
