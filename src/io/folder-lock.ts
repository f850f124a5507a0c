/**
 * One writer per output or cache folder. Two runs appending to the same embeddings.npy and
 * index.jsonl interleave rows and records (on a cluster, a re-queued job beside its own first
 * attempt does exactly that), so a run holds a kernel lock on `<dir>/.emb.lock` (fcntl; flock on
 * macOS; LockFileEx on Windows) while writing, and a second one is refused with the holder's pid,
 * host and start, which the holder writes into the file for that message only. The kernel drops
 * the lock when its holder dies, kill -9 included, so the next run takes over whatever pid or host
 * the file names: a container's PID 1 whose pid the next run gets again, a reused pid, a run on
 * another host. Across hosts that holds where the file system's locks reach all hosts (local
 * disks, NFSv4; not NFS mounted with nolock or local_lock).
 *
 * Where locking fails (ENOLCK, EOPNOTSUPP: some network mounts) or the addon does not load (no
 * prebuilt one for the platform), the file alone decides, created exclusively: a lock left by a
 * process that died on this host, or naming this process's own pid that it does not hold (a
 * container's PID 1 before it), is taken over; one from another host cannot be checked and is
 * refused with the fix.
 */
import {
  closeSync,
  constants,
  existsSync,
  fstatSync,
  ftruncateSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { createRequire } from "node:module";
import { hostname } from "node:os";
import { join, resolve } from "node:path";

export class FolderLockedError extends Error {}

interface Holder {
  pid: number;
  host: string;
  started: string;
}

export interface FolderLock {
  release(): void;
}

interface Claim extends FolderLock {
  holder: Holder;
}

/** fs-native-extensions: tryLock is false when another open file holds the lock. */
interface KernelLocks {
  tryLock(fd: number, offset: number, length: number): boolean;
  unlock(fd: number, offset: number, length: number): void;
}

let kernelLocks: KernelLocks | null | undefined;
function loadKernelLocks(): KernelLocks | null {
  if (kernelLocks === undefined) {
    try {
      kernelLocks = createRequire(import.meta.url)("fs-native-extensions") as KernelLocks;
    } catch {
      kernelLocks = null; // no prebuilt addon here (musl): the file alone decides
    }
  }
  return kernelLocks;
}

// Windows locks are mandatory, so lock one byte past the holder info, which refused runs read;
// flock (macOS) takes only the whole file.
const RANGE: [number, number] = process.platform === "win32" ? [2 ** 32, 1] : [0, 0];
// How the lock being held elsewhere is reported (EACCES by some fcntl, EBUSY by LockFileEx).
const HELD = new Set(["EAGAIN", "EACCES", "EBUSY"]);

/**
 * This process's claims, by folder identity (a symlink to a held folder is the same folder). A
 * second claim is refused from here, never by opening the lock file: POSIX fcntl locks are per
 * process and dropped when the process closes any fd of the file.
 */
const held = new Map<string, Claim>();
// Locks are released however the process ends normally, an error exit included.
process.on("exit", () => {
  for (const claim of [...held.values()]) claim.release();
});

export function lockFolder(dir: string): FolderLock {
  const path = join(dir, ".emb.lock");
  const key = folderKey(dir);
  const mine = held.get(key);
  if (mine) refuse(dir, path, mine.holder, true);
  const me: Holder = { pid: process.pid, host: hostname(), started: new Date().toISOString() };
  const locks = loadKernelLocks();
  const claim = (locks && claimWithKernelLock(locks, dir, path, key, me)) || claimByFile(dir, path, key, me);
  held.set(key, claim);
  return claim;
}

function folderKey(dir: string): string {
  try {
    const { dev, ino } = statSync(dir);
    return `${dev}:${ino}`;
  } catch {
    return resolve(dir);
  }
}

/**
 * Opens (or creates) the lock file and takes its kernel lock; the winner writes its info through
 * the same fd. Undefined where this file system cannot lock. A file is unlinked only by the run
 * holding its lock, before it unlocks; a run that locked a file its holder unlinked meanwhile sees
 * the path name another file (or none) and starts again, so two runs never hold two files.
 */
function claimWithKernelLock(locks: KernelLocks, dir: string, path: string, key: string, me: Holder): Claim | undefined {
  for (;;) {
    let fd: number;
    let created = true;
    try {
      fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL, 0o666);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      created = false;
      try {
        fd = openSync(path, constants.O_RDWR);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") continue; // released meanwhile
        throw error;
      }
    }
    let locked: boolean;
    try {
      locked = locks.tryLock(fd, ...RANGE);
    } catch (error) {
      if (!HELD.has((error as NodeJS.ErrnoException).code ?? "")) {
        // No locks on this file system: a file created here is ours by O_EXCL, as in claimByFile.
        if (!created) {
          closeSync(fd);
          return undefined;
        }
        writeInfo(fd, path, me, () => undefined);
        closeSync(fd);
        return fileClaim(path, key, me);
      }
      locked = false;
    }
    if (!locked) {
      const holder = readHolderFrom(fd);
      closeSync(fd);
      refuse(dir, path, holder, true);
    }
    if (!sameFile(fd, path)) {
      locks.unlock(fd, ...RANGE);
      closeSync(fd);
      continue;
    }
    writeInfo(fd, path, me, () => locks.unlock(fd, ...RANGE));
    const claim: Claim = {
      holder: me,
      release: () => {
        if (held.get(key) !== claim) return;
        held.delete(key);
        try {
          if (sameFile(fd, path)) unlinkSync(path); // still locked: no other run can hold this file
        } finally {
          locks.unlock(fd, ...RANGE);
          closeSync(fd);
        }
      },
    };
    return claim;
  }
}

/** The holder info, for refusals; where it cannot be written (a full disk) the file is given up, ours as it is, and the error thrown. */
function writeInfo(fd: number, path: string, me: Holder, unlock: () => void): void {
  try {
    ftruncateSync(fd, 0);
    writeSync(fd, `${JSON.stringify(me)}\n`, 0);
  } catch (error) {
    try {
      unlinkSync(path);
    } finally {
      unlock();
      closeSync(fd);
    }
    throw error;
  }
}

/** Whether `path` still names the file open as `fd`. */
function sameFile(fd: number, path: string): boolean {
  try {
    const open = fstatSync(fd);
    const named = statSync(path);
    return open.ino === named.ino && open.dev === named.dev;
  } catch {
    return false;
  }
}

/** The holder's info, read through the refused run's own fd (it holds no lock to lose). */
function readHolderFrom(fd: number): Holder | undefined {
  const buffer = Buffer.alloc(4096);
  for (let tries = 0; ; tries++) {
    let text = "";
    try {
      text = buffer.toString("utf8", 0, readSync(fd, buffer, 0, buffer.length, 0));
    } catch {
      // unreadable: named as another process
    }
    const holder = parseHolder(text);
    if (holder || tries === 20) return holder;
    // The holder may be between truncating the file and writing its info.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
  }
}

/** Without kernel locks: the file created exclusively is the lock, and its pid and host say whether its holder lives. */
function claimByFile(dir: string, path: string, key: string, me: Holder): Claim {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, `${JSON.stringify(me)}\n`, { flag: "wx" });
      return fileClaim(path, key, me);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const holder = readHolder(path);
    if (!holder || !stale(holder, me)) break;
    takeOverStale(path, holder);
  }
  refuse(dir, path, readHolder(path), false);
}

/** This process holds no claim on the folder (checked before), so a lock naming its own pid here is left by an earlier PID 1. */
function stale(holder: Holder, me: Holder): boolean {
  return holder.host === me.host && (holder.pid === me.pid || !alive(holder.pid));
}

function fileClaim(path: string, key: string, me: Holder): Claim {
  const claim: Claim = {
    holder: me,
    release: () => {
      if (held.get(key) !== claim) return;
      held.delete(key);
      const holder = readHolder(path);
      if (holder && holder.pid === me.pid && holder.host === me.host && holder.started === me.started) unlinkSync(path);
    },
  };
  return claim;
}

/** `checked`: a live process holds the kernel lock, so removing the file by hand is never the fix. */
function refuse(dir: string, path: string, holder: Holder | undefined, checked: boolean): never {
  const who = holder ? `process ${holder.pid} on ${holder.host} (since ${holder.started})` : "another process";
  throw new FolderLockedError(
    `${dir} is being written by ${who}; wait for it to finish or choose another --out` +
      (!checked && (!holder || holder.host !== hostname()) ? `; if no run is writing there any more, remove ${path}` : ""),
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

function readHolder(path: string): Holder | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return parseHolder(readFileSync(path, "utf8"));
  } catch {
    return undefined;
  }
}

function parseHolder(text: string): Holder | undefined {
  try {
    return JSON.parse(text) as Holder;
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
