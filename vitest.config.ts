import { readdirSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { defineConfig } from "vitest/config";

/**
 * Three projects, all in `npm test`. "e2e": the test files that run the built CLI (they import
 * test/helpers/cli.ts or
 * test/helpers/serve.ts), with the global setup that builds it; a new test file lands there by what
 * it imports. "generation": Florence-2 beam search and greedy decoding against PyTorch's goldens
 * on the tiny model, minutes on two cores. "unit": every other file: no build, seconds
 * (`npm run test:unit`).
 */
function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith(".test.ts"))
    .map((e) => join(e.parentPath, e.name));
}
// helpers/serve.ts starts `emb serve` through helpers/cli.ts, so importing either runs the CLI.
const runsCli = (file: string) => /from "(\.\.\/)+helpers\/(cli|serve)(\.js)?"/.test(readFileSync(file, "utf8"));
const e2e = testFiles("test").filter(runsCli);
const generation = ["test/models/florence2-generation.test.ts"];

const shared = {
  // vitest's default, one worker less than the cores, is a single worker on 2 cores. The command
  // tests mostly wait for their child process, and the in-process model tests use one thread,
  // so two files at a time keep both cores busy.
  maxWorkers: Math.max(2, availableParallelism() - 1),
  // Model parity tests run real ONNX sessions on tiny models: seconds, not milliseconds.
  testTimeout: 120_000,
  hookTimeout: 120_000,
};

export default defineConfig({
  test: {
    ...shared,
    projects: [
      { test: { ...shared, name: "unit", include: ["test/**/*.test.ts"], exclude: [...e2e, ...generation] } },
      { test: { ...shared, name: "generation", include: generation } },
      {
        test: {
          ...shared,
          name: "e2e",
          include: e2e,
          // Builds the CLI once per run (tsc, as `npm run build`, into a temporary folder); the
          // command tests run the built bin/run.js (test/helpers/cli.ts).
          globalSetup: ["test/setup/build-cli.ts"],
        },
      },
    ],
  },
});
