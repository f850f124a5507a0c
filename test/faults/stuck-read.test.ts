/**
 * The second stop signal ends a run even while a read is stuck in the kernel (a hung network
 * mount; here a named pipe opened for blocking read, which never returns). process.exit would
 * wait for that read forever.
 */
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../helpers/cli.js";

const CHILD = (root: string) => `
import { open } from "node:fs";
import { interruptible } from ${JSON.stringify(join(root, "src", "jobs", "run-record.ts"))};
interruptible(() => console.log("interrupted"));
open(process.argv[2], "r", () => console.log("the read returned"));
console.log("reading");
`;

describe("a read stuck in the kernel", () => {
  for (const name of ["SIGINT", "SIGTERM"] as const) {
    it(`does not hold the process past the second ${name}`, async () => {
      const dir = mkdtempSync(join(tmpdir(), "emb-stuck-"));
      const fifo = join(dir, "pipe");
      execFileSync("mkfifo", [fifo]);
      writeFileSync(join(dir, "child.mjs"), CHILD(ROOT));
      const child = spawn(process.execPath, ["--import", "tsx", join(dir, "child.mjs"), fifo], { cwd: ROOT });
      let out = "";
      child.stdout.on("data", (d) => (out += d));
      await new Promise<void>((resolve) => child.stdout.once("data", () => resolve()));
      child.kill(name);
      await new Promise((resolve) => setTimeout(resolve, 300));
      child.kill(name);
      const ended = await Promise.race([
        new Promise<NodeJS.Signals | number | null>((resolve) => child.on("exit", (code, signal) => resolve(signal ?? code))),
        new Promise((resolve) => setTimeout(() => resolve("still running"), 5000)),
      ]);
      child.kill("SIGKILL");
      expect(out).toContain("interrupted");
      expect(ended).toBe(name);
    });
  }
});
