/**
 * How much arithmetic a model does, counted from what onnxruntime actually ran: its profiler
 * records every kernel with the shapes of its inputs and outputs, so the multiply-adds of the
 * matrix products and convolutions (where nearly all of a transformer's work is) can be counted
 * for the graph as optimised and the batch as run. One multiply-add is two operations.
 */
import { readFileSync } from "node:fs";

/** Ops counted as C = A x B (with transposes and batch broadcasting): onnxruntime's names, int8 ones included. */
const MATRIX_PRODUCTS = new Set([
  "MatMul",
  "FusedMatMul",
  "Gemm",
  "FusedGemm",
  "MatMulInteger",
  "MatMulIntegerToFloat",
  "DynamicQuantizeMatMul",
  "QLinearMatMul",
  "MatMulNBits",
  "MatMulFpQ4",
]);
const CONVOLUTIONS = new Set(["Conv", "FusedConv", "QLinearConv", "ConvInteger", "NhwcConv"]);
/** Ops whose arithmetic the profile's shapes do not show (their weights are inside the kernel): named, not counted. */
const OPAQUE = new Set(["Attention", "MultiHeadAttention", "GroupQueryAttention", "QAttention", "DecoderMaskedMultiHeadAttention", "LSTM", "GRU"]);

export interface Arithmetic {
  /** Operations (two per multiply-add) of the counted kernels. */
  ops: number;
  byOp: Record<string, number>;
  /** Kernels that do real arithmetic the shapes cannot count, by op: the count is a lower bound when any ran. */
  uncounted: Record<string, number>;
  /** Kernel runs seen, counted or not. */
  kernels: number;
}

type Shape = number[];

const elements = (shape: Shape) => shape.reduce((a, d) => a * d, 1);

/** A profile entry's shapes: [{"float": [2, 729, 32]}, ...] -> [[2, 729, 32], ...]. */
function shapesOf(list: unknown): Shape[] {
  if (!Array.isArray(list)) return [];
  return list.flatMap((entry) => (entry && typeof entry === "object" ? Object.values(entry as Record<string, Shape>) : []));
}

/**
 * Operations of one matrix product from its first input, second input (absent from the profile
 * when it is a constant weight) and output: C[..., M, N] takes 2 x A x N operations when A is not
 * broadcast, 2 x B x M when B is not; the larger is the one that covers every batch.
 */
export function matrixProductOps(a: Shape, b: Shape | undefined, out: Shape): number {
  if (out.length === 0) return 0;
  const n = out[out.length - 1];
  const m = out.length > 1 ? out[out.length - 2] : 1;
  return Math.max(2 * elements(a) * n, b ? 2 * elements(b) * m : 0);
}

/** Operations of a convolution: each output element sums (input channels per group x kernel size) products. */
export function convolutionOps(weight: Shape, out: Shape): number {
  if (weight.length < 2) return 0;
  return 2 * elements(out) * (elements(weight) / weight[0]);
}

/** Counts the arithmetic of the kernels in an onnxruntime profile (the JSON array its profiler writes). */
export function arithmeticOfProfile(events: unknown[]): Arithmetic {
  const result: Arithmetic = { ops: 0, byOp: {}, uncounted: {}, kernels: 0 };
  for (const event of events) {
    const e = event as { cat?: string; name?: string; args?: { op_name?: string; input_type_shape?: unknown; output_type_shape?: unknown } };
    if (e.cat !== "Node" || !e.name?.endsWith("_kernel_time") || !e.args?.op_name) continue;
    result.kernels++;
    const op = e.args.op_name;
    const inputs = shapesOf(e.args.input_type_shape);
    const [out] = shapesOf(e.args.output_type_shape);
    let ops: number | undefined;
    if (MATRIX_PRODUCTS.has(op) && inputs.length > 0 && out) ops = matrixProductOps(inputs[0], inputs[1], out);
    else if (CONVOLUTIONS.has(op) && inputs.length > 1 && out) ops = convolutionOps(inputs[1], out);
    if (ops !== undefined) {
      result.ops += ops;
      result.byOp[op] = (result.byOp[op] ?? 0) + ops;
    } else if (OPAQUE.has(op) || CONVOLUTIONS.has(op)) {
      result.uncounted[op] = (result.uncounted[op] ?? 0) + 1;
    }
  }
  return result;
}

/** Sums the arithmetic of profile files (one per session of a model). */
export function arithmeticOfProfiles(files: string[]): Arithmetic {
  const total: Arithmetic = { ops: 0, byOp: {}, uncounted: {}, kernels: 0 };
  for (const file of files) {
    const one = arithmeticOfProfile(JSON.parse(readFileSync(file, "utf8")) as unknown[]);
    total.ops += one.ops;
    total.kernels += one.kernels;
    for (const [op, n] of Object.entries(one.byOp)) total.byOp[op] = (total.byOp[op] ?? 0) + n;
    for (const [op, n] of Object.entries(one.uncounted)) total.uncounted[op] = (total.uncounted[op] ?? 0) + n;
  }
  return total;
}
