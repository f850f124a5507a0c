import { defineConfig } from "vitest/config";

// The WordNet table check needs tools/meteor's own install, so it runs apart from `npm test`.
export default defineConfig({
  test: { root: "tools/meteor", include: ["*.test.ts"], testTimeout: 120_000, hookTimeout: 120_000 },
});
