import { describe, expect, it } from "vitest";
import { TransposedProduct } from "../../src/runtime/matmul.js";

describe("TransposedProduct (a one-node Gemm graph built in memory)", () => {
  it("computes a x bᵀ, worked by hand, reading b from an offset view without a copy", async () => {
    const product = await TransposedProduct.open(1);
    const a = Float32Array.of(1, 2, 3, 4, 5, 6); // [[1, 2, 3], [4, 5, 6]]
    const stored = Float32Array.of(9, 9, 9, 1, 0, 0, 0, 1, 0, 0, 0, 1, 1, -1, 2);
    const b = stored.subarray(3); // [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, -1, 2]]
    // Row 1: 1, 2, 3, 1 - 2 + 6 = 5. Row 2: 4, 5, 6, 4 - 5 + 12 = 11.
    expect(Array.from(await product.run(a, b, 3))).toEqual([1, 2, 3, 5, 4, 5, 6, 11]);
    await expect(product.run(a, Float32Array.of(1, 2), 3)).rejects.toThrow("matrix sizes 6 and 2 are not whole rows of 3");
    await product.release();
  });

  it("with rowMax also gives each row's largest product, worked by hand", async () => {
    const product = await TransposedProduct.open(1, true);
    const a = Float32Array.of(1, 2, -1, -2); // [[1, 2], [-1, -2]]
    const b = Float32Array.of(1, 0, 0, 1, 3, -1); // [[1, 0], [0, 1], [3, -1]]
    // Row 1: 1, 2, 3 - 2 = 1 (largest 2). Row 2: -1, -2, -3 + 2 = -1 (largest -1).
    const { products, rowMax } = await product.runWithRowMax(a, b, 2);
    expect(Array.from(products)).toEqual([1, 2, 1, -1, -2, -1]);
    expect(Array.from(rowMax)).toEqual([2, -1]);
    await product.release();
    const plain = await TransposedProduct.open(1);
    await expect(plain.runWithRowMax(a, b, 2)).rejects.toThrow("opened without rowMax");
    await plain.release();
  });
});
