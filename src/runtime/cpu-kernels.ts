/**
 * Which instruction sets onnxruntime's CPU kernels (MLAS) run on this machine. MLAS picks its
 * matrix-product kernels at start-up from the CPU's features; onnxruntime does not report the
 * choice, so it is worked out here from the same features, in MLAS's order of preference (its
 * platform set-up, onnxruntime 1.2x): what `emb perf` prints and what decides whether int8 pays.
 * Read from /proc/cpuinfo, so known on Linux only.
 */
import { readFileSync } from "node:fs";

export interface CpuKernels {
  cpu: string;
  /** The float32 matrix-product kernel family (what fp32 and fp16 graphs run on the CPU). */
  fp32: string;
  /** The u8 x s8 product kernels: graphs quantised with signed int8 weights (`--dtype int8`). */
  int8: string;
  /** The u8 x u8 product kernels: graphs quantised with uint8 weights (`q8`, `uint8` exports). */
  uint8: string;
  /** Whether int8-weight products have a dedicated instruction here (VNNI, AMX, dot product). */
  int8Accelerated: boolean;
}

/** The CPU's kernels, or undefined where /proc/cpuinfo cannot be read (macOS, Windows). */
export function cpuKernels(cpuinfo?: string): CpuKernels | undefined {
  let text = cpuinfo;
  if (text === undefined) {
    try {
      text = readFileSync("/proc/cpuinfo", "utf8");
    } catch {
      return undefined;
    }
  }
  const field = (name: string) => new RegExp(`^${name}\\s*:\\s*(.*)$`, "m").exec(text!)?.[1]?.trim();
  const x86Flags = field("flags");
  if (x86Flags !== undefined) return x86Kernels(field("model name") ?? "x86-64", new Set(x86Flags.split(/\s+/)));
  const armFeatures = field("Features");
  if (armFeatures !== undefined) return armKernels(field("CPU part") ? `Arm (part ${field("CPU part")})` : "Arm", new Set(armFeatures.split(/\s+/)));
  return undefined;
}

function x86Kernels(cpu: string, has: Set<string>): CpuKernels {
  const avx2 = has.has("avx2") && has.has("fma");
  const avx512 = has.has("avx512f");
  const avx512Core = avx512 && has.has("avx512bw") && has.has("avx512dq") && has.has("avx512vl");
  const fp32 = avx512 ? "AVX-512F" : avx2 ? "AVX2 + FMA3" : has.has("avx") ? "AVX" : "SSE2";
  // Later checks override earlier ones, as in MLAS: AMX, then AVX-512 VNNI, AVX-512 core, AVX-VNNI, AVX2.
  const int8 =
    has.has("amx_tile") && has.has("amx_int8")
      ? "AMX"
      : avx512Core && has.has("avx512_vnni")
        ? "AVX-512 VNNI"
        : avx512Core
          ? "AVX-512 (no VNNI)"
          : has.has("avx_vnni") && avx2
            ? "AVX-VNNI"
            : avx2
              ? "AVX2 (no VNNI)"
              : "SSE4.1";
  // VNNI multiplies unsigned by signed bytes: uint8 weights take it only with AVX-VNNI-INT8.
  const uint8 = has.has("avx_vnni_int8") && avx2 ? "AVX-VNNI-INT8" : avx512Core ? "AVX-512 (no VNNI)" : avx2 ? "AVX2 (no VNNI)" : "SSE2";
  return { cpu, fp32, int8, uint8, int8Accelerated: /AMX|VNNI$/.test(int8) };
}

function armKernels(cpu: string, has: Set<string>): CpuKernels {
  const int8 = has.has("i8mm") ? "NEON I8MM" : has.has("asimddp") ? "NEON dot product" : "NEON";
  return { cpu, fp32: "NEON", int8, uint8: int8, int8Accelerated: int8 !== "NEON" };
}

/** One line for reports: "AMD EPYC: onnxruntime runs fp32 products on AVX-512F, ...". */
export function describeCpuKernels(kernels: CpuKernels | undefined): string {
  if (!kernels) return "CPU kernels: not known on this platform (read from /proc/cpuinfo on Linux)";
  const int8 = kernels.int8 === kernels.uint8 ? `int8 on ${kernels.int8}` : `int8 weights on ${kernels.int8}, uint8 weights (q8) on ${kernels.uint8}`;
  return `${kernels.cpu}: onnxruntime runs fp32 products on ${kernels.fp32}, ${int8}`;
}
