/**
 * `emb perf`'s arithmetic: the operations the model does per item, counted from onnxruntime's
 * profile of one batch run through the target (runtime/arithmetic.ts), and what each measured
 * throughput makes of them: achieved GFLOP/s and the share of the CPU's estimated fp32 peak
 * (runtime/cpu-peak.ts).
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { arithmeticOfProfiles } from "../runtime/arithmetic.js";
import { cpuPeak, type CpuPeak } from "../runtime/cpu-peak.js";

export interface ModelArithmetic {
  /** Operations (two per multiply-add) per item: the profiled run's count over its items. */
  opsPerItem: number;
  /** Items in the profiled run, and the batches they ran in. */
  items: number;
  batches: number;
  /** Operations per item by op. */
  byOp: Record<string, number>;
  /** Kernel runs whose arithmetic the profile cannot show, by op: opsPerItem is then a lower bound. */
  uncounted: Record<string, number>;
  lowerBound: boolean;
  /** Where the model ran: the CPU's peak means something only on "cpu". */
  provider: string;
  peak: CpuPeak;
}

export interface RowArithmetic {
  /** The model's operations per item (the same in every row). */
  opsPerItem: number;
  /** opsPerItem x throughput, in GFLOP/s. */
  gflops: number;
  /** gflops over the CPU's estimated fp32 peak (1 = the peak); null off the CPU or where the clock is unknown. */
  peakShare: number | null;
}

/** What a profiled run reports: the items it ran, in how many batches, on which provider. */
export interface ProfiledRun {
  items: number;
  batches: number;
  provider: string;
}

/**
 * Runs `run` with a fresh profile prefix (it opens the model with it, runs, and releases the
 * model, which writes the profiles), then counts what the profiles hold.
 */
export async function profileArithmetic(run: (profilePrefix: string) => Promise<ProfiledRun>): Promise<ModelArithmetic> {
  const dir = mkdtempSync(join(tmpdir(), "emb-perf-profile-"));
  try {
    const { items, batches, provider } = await run(join(dir, "perf"));
    const files = readdirSync(dir).map((f) => join(dir, f));
    if (files.length === 0) throw new Error("onnxruntime wrote no profile");
    const counted = arithmeticOfProfiles(files);
    const byOp = Object.fromEntries(Object.entries(counted.byOp).map(([op, n]) => [op, n / items]));
    return {
      opsPerItem: counted.ops / items,
      items,
      batches,
      byOp,
      uncounted: counted.uncounted,
      lowerBound: Object.keys(counted.uncounted).length > 0,
      provider,
      peak: cpuPeak(),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A row's achieved GFLOP/s and share of the peak. */
export function rowArithmetic(a: ModelArithmetic, throughput: number): RowArithmetic {
  const gflops = (a.opsPerItem * throughput) / 1e9;
  const peak = a.provider === "cpu" ? a.peak.gflops : undefined;
  return { opsPerItem: a.opsPerItem, gflops, peakShare: peak ? gflops / peak : null };
}

/** The rows with their arithmetic added. */
export function withArithmetic<R extends { throughput: number }>(rows: R[], a: ModelArithmetic): (R & { arithmetic: RowArithmetic })[] {
  return rows.map((r) => ({ ...r, arithmetic: rowArithmetic(a, r.throughput) }));
}

const count = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** Three significant digits, without exponents. */
const sig = (x: number) => String(Number(x.toPrecision(3)));

/** How the peak is estimated, in words: "2 cores x 2.6 GHz (cpuinfo MHz) x 32 fp32 ops/cycle (AVX2, 2 x 256-bit FMA), AMD EPYC". */
export function peakBasis(p: CpuPeak): string {
  const clock = p.clockSource === "unknown" ? "an unknown clock" : `${sig(p.clockGHz)} GHz (${p.clockSource})`;
  return `${p.cores} cores x ${clock} x ${p.opsPerCycle} fp32 ops/cycle (${p.vector}), ${p.model}`;
}

/** The lines the human output prints under the table: the count per item and how the peak is estimated. */
export function arithmeticLines(a: ModelArithmetic): string[] {
  const uncounted = Object.entries(a.uncounted)
    .map(([op, n]) => `${n} ${op}`)
    .join(", ");
  const lines = [
    `arithmetic: ${sig(a.opsPerItem / 1e9)} GFLOP per item, counted from onnxruntime's profile of ${count(a.items, "item")} in ${count(a.batches, "batch", "batches")}` +
      (a.lowerBound ? `; a lower bound: kernels whose arithmetic the profile does not show ran uncounted (${uncounted})` : ""),
  ];
  if (a.provider !== "cpu") lines.push(`the model ran on ${a.provider}: no share of the CPU's peak is given`);
  else if (a.peak.gflops === undefined) lines.push(`the CPU's fp32 peak is unknown (no clock in /proc/cpuinfo): no share of it is given`);
  else lines.push(`the CPU's fp32 peak, estimated: ${sig(a.peak.gflops)} GFLOP/s = ${peakBasis(a.peak)}`);
  return lines;
}
