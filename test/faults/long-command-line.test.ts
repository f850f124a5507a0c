/**
 * A shell glob over a few thousand images makes a command line onnxruntime cannot start under
 * (it crashed with SIGSEGV): the run is refused before anything is written, naming --files-from,
 * which takes the same inputs.
 */
import { existsSync, mkdtempSync, readFileSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { fixturePath } from "../helpers/fixtures.js";

// With no stack limit onnxruntime's recursion has room, and nothing is refused.
const limited = process.platform === "linux" && /^Max stack size\s+\d+/m.test(readFileSync("/proc/self/limits", "utf8"));

describe("a command line of thousands of image paths", () => {
  it.runIf(limited)("is refused with --files-from as the way, not a crash, and writes nothing", () => {
    const dir = mkdtempSync(join(tmpdir(), "emb-glob-"));
    const files: string[] = [];
    for (let i = 0; i < 3000; i++) {
      const file = join(dir, `holiday-photo-${String(i).padStart(5, "0")}.jpg`);
      symlinkSync(fixturePath("images", "small_64x48.jpg"), file);
      files.push(file);
    }
    const out = join(dir, "out");
    const run = runCli(["embed", "image", ...files, "--model", fixturePath("siglip-tiny"), "--out", out, "--no-progress"]);
    expect(run.status, run.stderr).toBe(2);
    expect(run.stderr).toMatch(/the command line is [\d,]+ bytes, and onnxruntime crashes on a command line over about [\d,]+ bytes/);
    expect(run.stderr).toContain("--files-from");
    expect(existsSync(join(out, "index.jsonl"))).toBe(false);
  });
});
