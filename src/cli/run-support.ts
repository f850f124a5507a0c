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
