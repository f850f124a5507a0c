import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Builds the CLI once per run (tsc, as `npm run build`, into a temporary folder); the command
    // tests run the built bin/run.js (test/helpers/cli.ts).
    globalSetup: ["test/setup/build-cli.ts"],
    // vitest's default, one worker less than the cores, is a single worker on 2 cores. The command
    // tests mostly wait for their child process, and the in-process model tests use one thread,
    // so two files at a time keep both cores busy.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    // Model parity tests run real ONNX sessions on tiny models: seconds, not milliseconds.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
