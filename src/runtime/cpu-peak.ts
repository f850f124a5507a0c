/**
 * An estimate of the CPU's fp32 peak: cores x clock x fp32 operations per cycle per core, the last
 * from the vector width and FMA units its family has (two per FMA, as arithmetic.ts counts).
 * Linux's /proc/cpuinfo gives the vendor, family, flags, cores and clock; the clock is the
 * highest the kernel reports (cpufreq's maximum where it exists, else the current "cpu MHz", which
 * in a virtual machine is usually the base clock: a boosting CPU can then exceed the estimate).
 */
import { existsSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";

export interface CpuPeak {
  model: string;
  /** Physical cores (where cpuinfo says; else logical CPUs). */
  cores: number;
  clockGHz: number;
  clockSource: "cpufreq max" | "cpuinfo MHz" | "unknown";
  /** fp32 operations per cycle per core, and why. */
  opsPerCycle: number;
  vector: string;
  /** cores x clock x opsPerCycle, in GFLOP/s; undefined where the clock is unknown. */
  gflops?: number;
}

/** fp32 operations per cycle per core, from the vendor, family and flags. */
export function opsPerCycle(vendor: string, family: number, flags: Set<string>, arch: string = process.arch): { ops: number; vector: string } {
  if (arch === "arm64") return flags.has("sve") ? { ops: 32, vector: "SVE, 2 x 256-bit FMA (assumed)" } : { ops: 16, vector: "NEON, 2 x 128-bit FMA" };
  const fma = flags.has("fma");
  if (vendor === "AuthenticAMD") {
    // Zen 4 runs AVX-512 on two 256-bit FMA pipes; Zen 5 has full 512-bit ones.
    if (family >= 26 && flags.has("avx512f")) return { ops: 64, vector: "AVX-512, 2 x 512-bit FMA (Zen 5)" };
    if (family >= 23 && fma) return { ops: 32, vector: flags.has("avx512f") ? "AVX-512 on 2 x 256-bit FMA (Zen 4)" : "AVX2, 2 x 256-bit FMA" };
  }
  if (flags.has("avx512f") && fma) return { ops: 64, vector: "AVX-512, 2 x 512-bit FMA (assumed; some parts have one)" };
  if (flags.has("avx2") && fma) return { ops: 32, vector: "AVX2, 2 x 256-bit FMA" };
  if (flags.has("avx")) return { ops: 16, vector: "AVX, separate 256-bit add and multiply" };
  return { ops: 8, vector: "SSE, separate 128-bit add and multiply" };
}

/** The estimate from /proc/cpuinfo's text (and cpufreq's maximum, in kHz, where given). */
export function cpuPeakFrom(cpuinfo: string, maxFreqKHz?: number, logical = availableParallelism()): CpuPeak {
  const field = (name: string) => new RegExp(`^${name}\\s*:\\s*(.*)$`, "m").exec(cpuinfo)?.[1]?.trim();
  const flags = new Set((field("flags") ?? field("Features") ?? "").split(/\s+/));
  const { ops, vector } = opsPerCycle(field("vendor_id") ?? "", Number(field("cpu family") ?? 0), flags);
  const sockets = new Set([...cpuinfo.matchAll(/^physical id\s*:\s*(\d+)/gm)].map((m) => m[1])).size || 1;
  const perSocket = Number(field("cpu cores"));
  const cores = Number.isFinite(perSocket) && perSocket > 0 ? Math.min(logical, perSocket * sockets) : logical;
  const mhz = Number(field("cpu MHz"));
  const clock =
    maxFreqKHz && maxFreqKHz > 0
      ? { clockGHz: maxFreqKHz / 1e6, clockSource: "cpufreq max" as const }
      : Number.isFinite(mhz) && mhz > 0
        ? { clockGHz: mhz / 1000, clockSource: "cpuinfo MHz" as const }
        : { clockGHz: 0, clockSource: "unknown" as const };
  return {
    model: field("model name") ?? field("Hardware") ?? "unknown CPU",
    cores,
    ...clock,
    opsPerCycle: ops,
    vector,
    gflops: clock.clockGHz > 0 ? cores * clock.clockGHz * ops : undefined,
  };
}

/** This machine's estimate (Linux; elsewhere the clock and flags are unknown). */
export function cpuPeak(): CpuPeak {
  const info = existsSync("/proc/cpuinfo") ? readFileSync("/proc/cpuinfo", "utf8") : "";
  const maxFile = "/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq";
  const maxKHz = existsSync(maxFile) ? Number(readFileSync(maxFile, "utf8").trim()) : undefined;
  return cpuPeakFrom(info, maxKHz);
}
