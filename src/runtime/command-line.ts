/**
 * onnxruntime (1.30 on Linux) matches a regular expression against /proc/self/cmdline when it
 * starts, recursing about once per byte: a command line of some 27 KB overflows an 8 MiB stack
 * and the process dies with SIGSEGV before any model runs. `emb embed image photos/*.jpg` over a
 * few thousand files is such a command line, so it is refused first, with the way around it.
 */
import { readFileSync } from "node:fs";

export class CommandLineTooLongError extends Error {}

/** Bytes of stack per command-line byte we allow: about half of what the recursion was measured to take. */
const STACK_PER_BYTE = 512;

/** The main thread's stack limit in bytes (/proc/self/limits), undefined where unlimited or unknown. */
function stackLimit(): number | undefined {
  try {
    const line = readFileSync("/proc/self/limits", "utf8")
      .split("\n")
      .find((l) => l.startsWith("Max stack size"));
    const soft = line?.split(/\s{2,}/)[1];
    return soft && /^\d+$/.test(soft) ? Number(soft) : undefined;
  } catch {
    return undefined;
  }
}

/** Throws CommandLineTooLongError when this process's command line is too long for onnxruntime to start under this stack limit. */
export function checkCommandLineLength(): void {
  if (process.platform !== "linux") return;
  const stack = stackLimit();
  if (stack === undefined) return;
  let length: number;
  try {
    length = readFileSync("/proc/self/cmdline").length;
  } catch {
    return;
  }
  const most = Math.floor(stack / STACK_PER_BYTE);
  if (length <= most) return;
  const n = (value: number) => value.toLocaleString("en-US");
  throw new CommandLineTooLongError(
    `the command line is ${n(length)} bytes, and onnxruntime crashes on a command line over about ${n(most)} bytes under this ` +
      `${n(stack / 2 ** 20)} MiB stack limit; give many inputs with --files-from instead (printf '%s\\n' photos/*.jpg | emb embed image --files-from -), ` +
      "or raise the limit with ulimit -s",
  );
}
