/**
 * One writer per output or cache folder. Two runs appending to the same embeddings.npy and
 * index.jsonl interleave rows and records (on a cluster, a re-queued job beside its own first
 * attempt does exactly that), so a run takes `<dir>/.emb.lock` exclusively before writing and a
 * second one is refused with the holder's pid and host. A lock left by a process that died on
 * this host is taken over; one from another host cannot be checked and is refused with the fix.
 */
import { existsSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";

export class FolderLockedError extends Error {}

interface Holder {
  pid: number;
  host: string;
  started: string;
}

const held = new Set<string>();
// Locks are released however the process ends normally, an error exit included.
process.on("exit", () => {
  for (const path of held) releasePath(path);
});

export interface FolderLock {
  release(): void;
}

export function lockFolder(dir: string): FolderLock {
  const path = join(dir, ".emb.lock");
  const me: Holder = { pid: process.pid, host: hostname(), started: new Date().toISOString() };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, `${JSON.stringify(me)}\n`, { flag: "wx" });
      held.add(path);
      return { release: () => releasePath(path) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const holder = readHolder(path);
    if (!holder || holder.host !== me.host || alive(holder.pid)) break;
    takeOverStale(path, holder);
  }
  const holder = readHolder(path);
  const who = holder ? `process ${holder.pid} on ${holder.host} (since ${holder.started})` : "another process";
  throw new FolderLockedError(
    `${dir} is being written by ${who}; wait for it to finish or choose another --out` +
      (!holder || holder.host !== me.host ? `; if no run is writing there any more, remove ${path}` : ""),
  );
}

/**
 * Moves a dead holder's lock aside. The rename is atomic, so of two runs taking over the same
 * stale lock one moves it; the other finds either nothing to move or, if the first already made
 * a fresh lock, moves that one and puts it back.
 */
function takeOverStale(path: string, stale: Holder): void {
  const aside = `${path}.stale-${process.pid}`;
  try {
    renameSync(path, aside);
  } catch {
    return;
  }
  const moved = readHolder(aside);
  if (moved && (moved.pid !== stale.pid || moved.host !== stale.host)) {
    try {
      renameSync(aside, path);
    } catch {
      // The path was taken meanwhile: the moved lock's holder will find itself refused on release.
    }
    return;
  }
  unlinkSync(aside);
}

function releasePath(path: string): void {
  held.delete(path);
  const holder = readHolder(path);
  if (holder && holder.pid === process.pid && holder.host === hostname()) unlinkSync(path);
}

function readHolder(path: string): Holder | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, "utf8")) as Holder;
  } catch {
    return undefined; // torn or empty: treated as held by an unknown process
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
