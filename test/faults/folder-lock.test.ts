/**
 * The folder lock (src/io/folder-lock.ts) after its holder died: in a container, where emb is PID 1
 * and a killed run's pid is the next run's own, with another host's name in the file, and with
 * several new runs racing for the same left-over lock. The kernel lock decides, not the pid.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { FolderLockedError, lockFolder } from "../../src/io/folder-lock.js";
import { readJsonl } from "../../src/io/jsonl.js";
import { parseNpy } from "../../src/io/npy.js";
import { cliArgs, ROOT, runCli } from "../helpers/cli.js";
import { fixturePath, maxAbsDiff } from "../helpers/fixtures.js";

const TINY = fixturePath("siglip-tiny");
const MODULE = pathToFileURL(join(ROOT, "src", "io", "folder-lock.ts")).href;
const tmp = (name: string) => mkdtempSync(join(tmpdir(), `emb-lock-${name}-`));
const lockFile = (dir: string) => join(dir, ".emb.lock");
const leave = (dir: string, pid: number, host: string) => writeFileSync(lockFile(dir), JSON.stringify({ pid, host, started: "2026-01-01T00:00:00Z" }));

function imageFolder(count: number): string {
  const dir = tmp("images");
  const sources = ["large_1280x720.jpg", "photo_500x375.jpg", "portrait_375x500.jpg", "cmyk_320x240.jpg"];
  for (let i = 0; i < count; i++) copyFileSync(fixturePath("images", sources[i % sources.length]), join(dir, `img_${String(i).padStart(4, "0")}.jpg`));
  return dir;
}

/** Rows by file name. */
function rowsByName(dir: string): Map<string, Float32Array> {
  const npy = parseNpy(readFileSync(join(dir, "embeddings.npy")));
  const d = npy.shape[1];
  const data = npy.data as Float32Array;
  const byName = new Map<string, Float32Array>();
  for (const r of readJsonl<{ row: number; path: string }>(join(dir, "index.jsonl")))
    byName.set(r.path.split("/").pop()!, data.slice(r.row * d, (r.row + 1) * d));
  return byName;
}

/** `unshare` arguments that make the command PID 1 of a new PID namespace (the host name stays), or null where that is not permitted. */
const namespace = ((): string[] | null => {
  if (process.platform !== "linux") return null;
  // As root; elsewhere as the mapped root of a user namespace, where unprivileged ones are allowed.
  for (const prefix of [
    ["--pid", "--fork", "--mount-proc"],
    ["--user", "--map-root-user", "--pid", "--fork", "--mount-proc"],
  ]) {
    const probe = spawnSync("unshare", [...prefix, "sh", "-c", 'echo "$$"'], { encoding: "utf8" });
    if (probe.status === 0 && probe.stdout.trim() === "1") return prefix;
  }
  return null;
})();

/** The CLI as PID 1 of a new PID namespace, with the environment runCli gives it. */
function startInNamespace(args: string[]): ChildProcess {
  const env: NodeJS.ProcessEnv = { ...process.env, HF_HUB_OFFLINE: "", OCLIF_COLUMNS: "10000" };
  delete env.NODE_ENV;
  for (const name of ["SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX"]) delete env[name];
  return spawn("unshare", [...namespace!, process.execPath, ...cliArgs(), ...args], { cwd: ROOT, env });
}

function ended(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(child.exitCode) : child.on("close", resolve)));
}

/** The host pids of `parent`'s children (the namespace's PID 1 under `unshare`). */
function childrenOf(parent: number): number[] {
  return readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        // The command name may hold spaces and parentheses: the ppid is the second field after the last ")".
        const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
        return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === parent;
      } catch {
        return false; // ended meanwhile
      }
    })
    .map(Number);
}

/**
 * A process that calls lockFolder(dir) from the sources and prints "won" (then holds the lock
 * until killed, or ends normally when its stdin is closed) or "refused <message>" (then ends). `hideAddon`: as where the addon cannot load.
 */
function claimant(dir: string, script = "", hideAddon = false): { child: ChildProcess; said: Promise<string> } {
  const code = `const { lockFolder } = await import(${JSON.stringify(MODULE)});
${script}
try { lockFolder(process.argv[1]); process.stdout.write("won\\n"); process.stdin.on("end", () => process.exit(0)).resume(); }
catch (error) { process.stdout.write("refused " + error.message + "\\n"); }`;
  const preload = hideAddon ? ["--require", hider()] : [];
  const child = spawn(process.execPath, [...preload, "--import", "tsx", "--input-type=module", "-e", code, dir], { cwd: ROOT });
  let out = "";
  let err = "";
  child.stderr!.on("data", (d) => (err += d));
  const said = new Promise<string>((resolve, reject) => {
    child.stdout!.on("data", (d) => {
      out += d;
      if (out.includes("\n")) resolve(out.trim());
    });
    child.on("close", () => reject(new Error(`the claimant ended without a word: ${err}`)));
  });
  return { child, said };
}

/** A --require script that makes `fs-native-extensions` fail to load, as on a platform without its prebuilt addon. */
function hider(): string {
  const file = join(tmp("hide"), "hide-addon.cjs");
  writeFileSync(
    file,
    `const Module = require("node:module");
const load = Module._load;
Module._load = function (request, ...rest) {
  if (request === "fs-native-extensions") throw Object.assign(new Error("hidden by the test"), { code: "ADDON_NOT_FOUND" });
  return load.call(this, request, ...rest);
};`,
  );
  return file;
}

describe("a lock whose holder is gone", () => {
  it("kill -9 of emb running as PID 1 (a container): the same command, PID 1 again under the same host name, resumes to the uninterrupted result", async ({
    skip,
  }) => {
    skip(!namespace, "unshare cannot make a PID namespace here (it needs root, or unprivileged user namespaces)");
    const dir = imageFolder(120);
    const args = (out: string) => ["embed", "image", dir, "--model", TINY, "--out", out, "--batch-size", "4", "--workers", "1", "--no-progress"];
    const reference = join(tmp("out"), "reference");
    const clean = runCli(args(reference));
    expect(clean.status, clean.stderr).toBe(0);

    const out = join(tmp("out"), "container");
    const first = startInNamespace(args(out));
    let stderr = "";
    first.stderr!.on("data", (d) => (stderr += d));
    await new Promise<void>((resolve, reject) => {
      const poll = setInterval(() => {
        const index = join(out, "index.jsonl");
        if (existsSync(index) && readFileSync(index, "utf8").split("\n").length > 8) {
          clearInterval(poll);
          const [emb] = childrenOf(first.pid!);
          if (emb) process.kill(emb, "SIGKILL");
          resolve();
        }
      }, 5);
      first.on("exit", () => {
        clearInterval(poll);
        reject(new Error(`the run ended before it could be killed: ${stderr}`));
      });
    });
    await ended(first); // unshare ends once its PID 1 has
    expect(readFileSync(join(out, "index.jsonl"), "utf8").trim().split("\n").length).toBeLessThan(120);
    // What the killed run left: a lock naming pid 1 on this host, as the next run's own pid will be.
    expect(JSON.parse(readFileSync(lockFile(out), "utf8"))).toMatchObject({ pid: 1, host: hostname() });

    const second = startInNamespace(args(out));
    let again = "";
    second.stderr!.on("data", (d) => (again += d));
    expect(await ended(second), again).toBe(0);
    const got = rowsByName(out);
    const ref = rowsByName(reference);
    expect([...got.keys()].sort()).toEqual([...ref.keys()].sort());
    for (const [name, row] of ref) expect(maxAbsDiff(got.get(name)!, row), name).toBeLessThanOrEqual(1e-6);
    expect(existsSync(lockFile(out))).toBe(false);
  });

  it("a lock naming a live pid on this host that holds no kernel lock (the pid was reused) is taken over", () => {
    for (const pid of [process.ppid, 1]) {
      const dir = tmp("live-pid");
      leave(dir, pid, hostname());
      const lock = lockFolder(dir);
      expect(JSON.parse(readFileSync(lockFile(dir), "utf8"))).toMatchObject({ pid: process.pid, host: hostname() });
      lock.release();
      expect(existsSync(lockFile(dir))).toBe(false);
    }
  });

  it("a lock naming another host, with no kernel lock held, is taken over", () => {
    const dir = tmp("other-host");
    leave(dir, 4242, `not-${hostname()}`);
    const lock = lockFolder(dir);
    expect(JSON.parse(readFileSync(lockFile(dir), "utf8"))).toMatchObject({ pid: process.pid, host: hostname() });
    lock.release();
    expect(existsSync(lockFile(dir))).toBe(false);
  });

  it("new runs racing for a left-over lock: exactly one wins, the others are refused with its pid; once it is killed the lock is free", async () => {
    const dir = tmp("race");
    leave(dir, 4242, `not-${hostname()}`);
    const claimants = Array.from({ length: 4 }, () => claimant(dir));
    const said = await Promise.all(claimants.map((c) => c.said));
    const winners = claimants.filter((_, i) => said[i] === "won");
    expect(winners, said.join("\n")).toHaveLength(1);
    for (const word of said) if (word !== "won") expect(word).toContain("refused");
    const winner = winners[0].child;
    let refusal: unknown;
    try {
      lockFolder(dir);
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(FolderLockedError);
    expect((refusal as Error).message).toContain(`is being written by process ${winner.pid} on ${hostname()}`);
    expect((refusal as Error).message).toContain("wait for it to finish or choose another --out");
    expect((refusal as Error).message).not.toContain("remove");
    winner.kill("SIGKILL");
    await ended(winner);
    const lock = lockFolder(dir);
    expect(JSON.parse(readFileSync(lockFile(dir), "utf8"))).toMatchObject({ pid: process.pid });
    lock.release();
    expect(existsSync(lockFile(dir))).toBe(false);
  });

  it("in one process a second claim of the same folder is refused, and a lock naming this pid that it does not hold is taken over", () => {
    const dir = tmp("one-process");
    const lock = lockFolder(dir);
    expect(() => lockFolder(dir)).toThrow(`${dir} is being written by process ${process.pid} on ${hostname()}`);
    const link = join(tmp("link"), "same-folder");
    symlinkSync(dir, link);
    expect(() => lockFolder(link)).toThrow(FolderLockedError);
    lock.release();
    lock.release(); // twice is harmless
    expect(existsSync(lockFile(dir))).toBe(false);
    // As a killed run that was PID 1 leaves it for the next PID 1.
    leave(dir, process.pid, hostname());
    lockFolder(dir).release();
    expect(existsSync(lockFile(dir))).toBe(false);
  });

  it("where the addon cannot load, the pid and host decide: a live holder is refused, this pid's own left-over lock is taken over", async () => {
    const dir = tmp("no-addon");
    // The test process is alive on this host: without a kernel lock it cannot be told from a holder.
    leave(dir, process.pid, hostname());
    const refused = claimant(dir, "", true);
    expect(await refused.said).toContain(`refused ${dir} is being written by process ${process.pid} on ${hostname()}`);
    const own = claimant(
      dir,
      `(await import("node:fs")).writeFileSync(${JSON.stringify(lockFile(dir))}, JSON.stringify({ pid: process.pid, host: (await import("node:os")).hostname(), started: "2026-01-01T00:00:00Z" }));`,
      true,
    );
    expect(await own.said).toBe("won");
    expect(JSON.parse(readFileSync(lockFile(dir), "utf8"))).toMatchObject({ pid: own.child.pid });
    // A second process: the lock now names a live pid on this host.
    expect(await claimant(dir, "", true).said).toContain(`is being written by process ${own.child.pid}`);
    own.child.stdin!.end(); // it ends normally: the exit release removes the lock
    await ended(own.child);
    expect(existsSync(lockFile(dir))).toBe(false);
  });
});
