import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Model parity tests run real ONNX sessions on tiny models: seconds, not milliseconds.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
