/** How an evaluation job speaks while it runs: its human output, warnings and progress displays. */

/** A long step's progress display; a command draws bars, the library and tests draw nothing. */
export interface Phase {
  start(total: number): void;
  tick(): void;
  stop(): void;
}

export interface JobOutput {
  /** A line of the human output, on stdout (a command prints none with --json). */
  log: (line: string) => void;
  /** A line on stderr: notes beside the output. */
  note: (line: string) => void;
  warn: (message: string) => void;
  /** The display of a long step, named and counted in `unit`. */
  phase: (label: string, unit: string) => Phase;
  /** Whether tables may be drawn in colour. */
  color: boolean;
}
