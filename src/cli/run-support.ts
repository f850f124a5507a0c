/** Pieces every model-running command needs: model resolution with download bars, Ctrl-C. */
import { resolveModel, type FilePicker, type ResolvedModel } from "../models/hub.js";
import { downloadBars } from "./progress.js";

export async function resolveWithProgress(
  spec: string,
  pick: FilePicker,
  options: { revision: string; offline: boolean },
  showProgress: boolean,
): Promise<ResolvedModel> {
  const bars = downloadBars(showProgress);
  try {
    return await resolveModel(spec, pick, {
      revision: options.revision,
      offline: options.offline || undefined,
      onProgress: bars ? (file, received, total) => bars.update(file, received, total) : undefined,
    });
  } finally {
    bars?.stop();
  }
}

/**
 * First Ctrl-C: abort the signal, so the command finishes what is in flight and writes its
 * outputs. Second Ctrl-C: exit at once (130), which the outputs also survive.
 */
export function interruptible(warn: (message: string) => void): { signal: AbortSignal; dispose: () => void } {
  const abort = new AbortController();
  const onSigint = () => {
    if (abort.signal.aborted) process.exit(130);
    abort.abort();
    warn("interrupted: finishing the work in flight (Ctrl-C again to stop at once)");
  };
  process.on("SIGINT", onSigint);
  return { signal: abort.signal, dispose: () => process.off("SIGINT", onSigint) };
}

/** What a recorded run needs of its output folder. */
interface RunStore {
  writeRunInfo(info: Record<string, unknown>): void;
  close(): { rows: number };
}

/**
 * Runs `work` as a recorded run of `store`: run.json says "running" while it goes and
 * "complete" or "interrupted" with the result after, Ctrl-C aborts the signal `work` gets, and
 * the store is closed (compacted) at the end. `cleanup` runs whether `work` succeeded or not.
 */
export async function recordedRun<T extends { interrupted: boolean }>(
  store: RunStore,
  runInfo: Record<string, unknown>,
  warn: (message: string) => void,
  work: (signal: AbortSignal) => Promise<T>,
  cleanup: () => Promise<void> | void,
): Promise<{ result: T; rows: number; status: "complete" | "interrupted" }> {
  store.writeRunInfo({ ...runInfo, status: "running", startedAt: new Date().toISOString() });
  const interrupt = interruptible(warn);
  let result: T;
  try {
    result = await work(interrupt.signal);
  } finally {
    interrupt.dispose();
    await cleanup();
  }
  const { rows } = store.close();
  const status = result.interrupted ? "interrupted" : "complete";
  store.writeRunInfo({ ...runInfo, status, finishedAt: new Date().toISOString(), rows, result });
  return { result, rows, status };
}
