/** A job's output hooks, wired to a command: stdout, stderr and warnings (all silent with --json), progress bars. */
import type { Command } from "@oclif/core";
import type { JobOutput } from "../jobs/job-output.js";
import { useColor } from "./color.js";
import { progressBar } from "./progress.js";

export function jobOutput(command: Command, showProgress: boolean): JobOutput {
  return {
    log: (line) => command.log(line),
    note: (line) => command.logToStderr(line),
    warn: (message) => command.warn(message),
    phase: (label, unit) => progressBar(label, unit, showProgress),
    color: useColor(process.stdout),
  };
}
