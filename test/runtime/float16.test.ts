import { describe, expect, it } from "vitest";
import { fromFloat16Bits, toFloat16Bits } from "../../src/runtime/float16.js";

// Bit patterns worked out by hand from the IEEE 754 binary16 layout (1 sign, 5 exponent, 10 mantissa).
const CASES: [number, number][] = [
  [0, 0x0000],
  [1, 0x3c00],
  [-2, 0xc000],
  [0.5, 0x3800],
  [65504, 0x7bff], // largest finite half
  [2 ** -14, 0x0400], // smallest normal
  [2 ** -24, 0x0001], // smallest subnormal
  [0.1, 0x2e66], // 0.0999755859375, the nearest half
  [1 + 2 ** -11, 0x3c00], // exactly halfway between 1 and the next half: ties to even (down)
  [1 + 3 * 2 ** -11, 0x3c02], // halfway between 0x3c01 and 0x3c02: ties to even (up)
  [70000, 0x7c00], // overflow to +inf
  [-Infinity, 0xfc00],
  [2 ** -26, 0x0000], // below half the smallest subnormal: zero
];

describe("float16 conversion", () => {
  it.each(CASES)("%d -> 0x%s", (value, bits) => {
    expect(toFloat16Bits(value)).toBe(bits);
  });

  it("decodes the same bit patterns back", () => {
    expect(fromFloat16Bits(0x3c00)).toBe(1);
    expect(fromFloat16Bits(0x7bff)).toBe(65504);
    expect(fromFloat16Bits(0x0001)).toBe(2 ** -24);
    expect(fromFloat16Bits(0x2e66)).toBe(0.0999755859375);
    expect(fromFloat16Bits(0xfc00)).toBe(-Infinity);
    expect(Number.isNaN(fromFloat16Bits(0x7e00))).toBe(true);
  });
});
