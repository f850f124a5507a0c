import { describe, expect, it } from "vitest";
import { cpuKernels, describeCpuKernels } from "../../src/runtime/cpu-kernels.js";

/** A /proc/cpuinfo excerpt: one processor's lines, as the kernel prints them. */
const x86 = (model: string, flags: string) =>
  `processor\t: 0\nvendor_id\t: x\nmodel name\t: ${model}\nflags\t\t: fpu sse sse2 ${flags}\n\nprocessor\t: 1\nmodel name\t: ${model}\nflags\t\t: fpu sse sse2 ${flags}\n`;

describe("cpuKernels: the kernels MLAS picks from /proc/cpuinfo's flags", () => {
  it("Sapphire Rapids (AMX) runs int8 on AMX, fp32 on AVX-512F", () => {
    const k = cpuKernels(
      x86("Intel(R) Xeon(R) Platinum 8480+", "avx avx2 fma avx512f avx512dq avx512bw avx512vl avx512_vnni avx_vnni amx_bf16 amx_tile amx_int8"),
    );
    expect(k).toEqual({ cpu: "Intel(R) Xeon(R) Platinum 8480+", fp32: "AVX-512F", int8: "AMX", uint8: "AVX-512 (no VNNI)", int8Accelerated: true });
  });

  it("Zen 4 / Cascade Lake (AVX-512 VNNI, no AMX)", () => {
    const k = cpuKernels(x86("AMD EPYC 9654", "avx avx2 fma avx512f avx512dq avx512bw avx512vl avx512_vnni avx_vnni avx512_bf16"));
    expect(k).toMatchObject({ fp32: "AVX-512F", int8: "AVX-512 VNNI", uint8: "AVX-512 (no VNNI)", int8Accelerated: true });
  });

  it("Skylake-SP: AVX-512 without VNNI is not an int8 accelerator", () => {
    expect(cpuKernels(x86("Xeon Gold 6148", "avx avx2 fma avx512f avx512dq avx512bw avx512vl"))).toMatchObject({
      int8: "AVX-512 (no VNNI)",
      int8Accelerated: false,
    });
  });

  it("Alder Lake (AVX-VNNI without AVX-512), Arrow Lake (AVX-VNNI-INT8), Haswell, and an AVX-only CPU", () => {
    expect(cpuKernels(x86("Core i7-12700", "avx avx2 fma avx_vnni"))).toMatchObject({
      fp32: "AVX2 + FMA3",
      int8: "AVX-VNNI",
      uint8: "AVX2 (no VNNI)",
      int8Accelerated: true,
    });
    expect(cpuKernels(x86("Core Ultra 9 285K", "avx avx2 fma avx_vnni avx_vnni_int8"))).toMatchObject({ int8: "AVX-VNNI", uint8: "AVX-VNNI-INT8" });
    expect(cpuKernels(x86("Xeon E5-2680 v3", "avx avx2 fma"))).toMatchObject({ fp32: "AVX2 + FMA3", int8: "AVX2 (no VNNI)", int8Accelerated: false });
    expect(cpuKernels(x86("Xeon E5-2670", "avx sse4_1"))).toMatchObject({ fp32: "AVX", int8: "SSE4.1" });
  });

  it("Arm: dot product and I8MM", () => {
    expect(cpuKernels("processor\t: 0\nFeatures\t: fp asimd evtstrm aes asimddp i8mm\nCPU part\t: 0xd4f\n")).toEqual({
      cpu: "Arm (part 0xd4f)",
      fp32: "NEON",
      int8: "NEON I8MM",
      uint8: "NEON I8MM",
      int8Accelerated: true,
    });
    expect(cpuKernels("processor\t: 0\nFeatures\t: fp asimd asimddp\n")).toMatchObject({ int8: "NEON dot product" });
  });

  it("says when it cannot tell", () => {
    expect(cpuKernels("")).toBeUndefined();
    expect(describeCpuKernels(undefined)).toContain("not known on this platform");
    expect(describeCpuKernels(cpuKernels(x86("AMD EPYC", "avx avx2 fma avx512f avx512dq avx512bw avx512vl avx512_vnni")))).toBe(
      "AMD EPYC: onnxruntime runs fp32 products on AVX-512F, int8 weights on AVX-512 VNNI, uint8 weights (q8) on AVX-512 (no VNNI)",
    );
  });
});
