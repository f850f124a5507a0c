/**
 * A job's run record: run.json says "running" while it goes and "complete", "interrupted" or
 * "stopped" (disk full) after; the first stop signal lets the work in flight finish.
 */

/** The disk under an output folder is full or failing: the run stopped cleanly and can be resumed. */
export class DiskError extends Error {}

/** The signals that stop a run gracefully: Ctrl-C, and what Slurm, Kubernetes and `docker stop` send. */
const STOP_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/**
 * First stop signal (Ctrl-C, SIGTERM, SIGHUP): abort the signal, so the command finishes what is
 * in flight and writes its outputs. A second one: stop at once, which the outputs also survive.
 * process.exit would wait for a read stuck in the kernel (a hung network mount), so the signal
 * is raised again with its default action, which ends the process whatever it waits for; PID 1
 * (a container) ignores default actions, so there it exits (130).
 */
export function interruptible(warn: (message: string) => void): { signal: AbortSignal; dispose: () => void } {
  const abort = new AbortController();
  const dispose = () => STOP_SIGNALS.forEach((name) => process.off(name, onSignal));
  const onSignal = (name: NodeJS.Signals) => {
    if (abort.signal.aborted) {
      if (process.pid === 1) process.exit(130);
      dispose();
      process.kill(process.pid, name);
      process.exit(130); // reached only if another listener kept the signal from its default action
    }
    abort.abort();
    warn(`interrupted (${name}): finishing the work in flight (Ctrl-C again to stop at once)`);
  };
  for (const name of STOP_SIGNALS) process.on(name, onSignal);
  return { signal: abort.signal, dispose };
}

/** What a recorded run needs of its output folder. */
interface RunStore {
  writeRunInfo(info: Record<string, unknown>): void;
  close(): { rows: number };
  unlock(): void;
}

/**
 * Runs `work` as a recorded run of `store`: run.json says "running" while it goes and
 * "complete" or "interrupted" with the result after, Ctrl-C aborts the signal `work` gets, and
 * the store is closed (compacted) at the end. `cleanup` runs whether `work` succeeded or not.
 */
export async function recordedRun<T extends { interrupted: boolean }>(
  store: RunStore & { dir: string },
  runInfo: Record<string, unknown>,
  warn: (message: string) => void,
  work: (signal: AbortSignal) => Promise<T>,
  cleanup: () => Promise<void> | void,
): Promise<{ result: T; rows: number; status: "complete" | "interrupted" }> {
  const interrupt = interruptible(warn);
  let result: T;
  try {
    try {
      store.writeRunInfo({ ...runInfo, status: "running", startedAt: new Date().toISOString() });
      result = await work(interrupt.signal);
    } finally {
      interrupt.dispose();
      await cleanup();
    }
    const { rows } = store.close();
    const status = result.interrupted ? "interrupted" : "complete";
    store.writeRunInfo({ ...runInfo, status, finishedAt: new Date().toISOString(), rows, result });
    store.unlock();
    return { result, rows, status };
  } catch (error) {
    throw stoppedByDisk(error, store, runInfo) ?? error;
  }
}

const DISK_ERRORS: Record<string, string> = {
  ENOSPC: "the disk is full",
  EDQUOT: "the disk quota is used up",
  EIO: "the disk reported an input/output error",
};

/**
 * A full or failing disk stops the run cleanly: what was written is consistent (rows are counted
 * only after their bytes, records only after their rows), the folder is closed as far as the disk
 * allows, and the error says how many rows are kept and that the same command continues.
 */
function stoppedByDisk(error: unknown, store: RunStore & { dir: string }, runInfo: Record<string, unknown>): DiskError | undefined {
  const code = (error as NodeJS.ErrnoException).code;
  if (!code || !(code in DISK_ERRORS)) return undefined;
  let rows: number | undefined;
  try {
    rows = store.close().rows;
    store.writeRunInfo({ ...runInfo, status: "stopped", reason: code, finishedAt: new Date().toISOString(), rows });
  } catch {
    // The disk may not even take run.json; the files themselves stay consistent.
  }
  store.unlock();
  const kept = rows === undefined ? "what was written is kept" : `${rows} rows are kept`;
  return new DiskError(
    `${DISK_ERRORS[code]} (${code}) while writing ${store.dir}; ${kept}: free space (or fix the disk) and run the same command again to continue`,
  );
}

/** recordedRun for a job that holds a model: at the end its hooks stop first (progress bars), then the model is released. */
export function recordedJobRun<T extends { interrupted: boolean }>(
  store: RunStore & { dir: string },
  runInfo: Record<string, unknown>,
  hooks: { warn: (message: string) => void; onEnd?: () => void },
  release: () => Promise<void>,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<{ result: T; rows: number; status: "complete" | "interrupted" }> {
  return recordedRun(store, runInfo, hooks.warn, work, async () => {
    hooks.onEnd?.();
    await release();
  });
}

/** What a folder job's closing line reports. */
export interface RunSummary {
  status: "complete" | "interrupted";
  /** How many inputs this run processed, and the verb for it ("embedded", "captioned"). */
  done: number;
  verb: string;
  unchanged: number;
  failed: number;
  total: number;
  seconds: number;
  /** The rate's unit ("images") and decimals. */
  unit: string;
  rateDigits: number;
  provider: string;
  /** What the folder now holds, e.g. "15 rows in out/embeddings.npy". */
  holds: string;
  /** Where failures are listed, when there are any: e.g. "failed files and reasons: out/errors.jsonl". */
  failures: string;
}

/** The lines printed when a folder job ends: the counts and rate, then where failures are listed. */
export function summaryLines(s: RunSummary): string[] {
  const rate = s.done / Math.max(s.seconds, 1e-9);
  const lines = [
    `${s.status}: ${s.done} ${s.verb}, ${s.unchanged} unchanged, ${s.failed} failed of ${s.total} ` +
      `in ${s.seconds.toFixed(1)} s (${rate.toFixed(s.rateDigits)} ${s.unit}/s, ${s.provider}); ${s.holds}`,
  ];
  if (s.failed > 0) lines.push(s.failures);
  return lines;
}
