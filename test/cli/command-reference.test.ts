/**
 * docs/commands.md is what `npm run docs:commands` (oclif readme) makes from the built commands'
 * own help, so the reference cannot drift from `--help`; and no help text speaks of documents
 * users never saw.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { cliArgs, ROOT } from "../helpers/cli.js";

const REFERENCE = join(ROOT, "docs", "commands.md");

describe("docs/commands.md", () => {
  it("is what oclif readme generates from the built commands' help (else run npm run docs:commands)", () => {
    const packageDir = dirname(dirname(cliArgs()[0]));
    const dir = mkdtempSync(join(tmpdir(), "emb-reference-"));
    try {
      const fresh = join(dir, "commands.md");
      copyFileSync(REFERENCE, fresh);
      const oclif = join(dirname(createRequire(import.meta.url).resolve("oclif/package.json")), "bin", "run.js");
      const r = spawnSync(process.execPath, [oclif, "readme", "--plugin-directory", packageDir, "--readme-path", fresh, "--no-source-links", "--no-aliases"], {
        encoding: "utf8",
        env: { ...process.env, COLUMNS: "120", NODE_ENV: "production" },
      });
      expect(r.status, r.stderr).toBe(0);
      const generated = readFileSync(fresh, "utf8").split("\n");
      const committed = readFileSync(REFERENCE, "utf8").split("\n");
      const first = committed.findIndex((line, i) => line !== generated[i]);
      expect(
        first,
        `line ${first + 1}: committed ${JSON.stringify(committed[first])}, generated ${JSON.stringify(generated[first])}; run npm run docs:commands`,
      ).toBe(-1);
      expect(committed.length).toBe(generated.length);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names every command, and no help says "seeds"', () => {
    const text = readFileSync(REFERENCE, "utf8");
    for (const command of ["embed image", "embed text", "classify", "florence", "knn eval", "coco eval", "perf", "serve", "merge"]) {
      expect(text).toContain(`## \`emb ${command}`);
    }
    expect(text).not.toMatch(/\bseeds\b|seeds'|seed documents/i);
  });
});
