/** What a job tells its caller while it runs: a command draws progress bars from it, the library passes it on. */

export interface JobHooks<Progress = void> {
  warn: (message: string) => void;
  onStart?: (total: number) => void;
  /** One input done: `Progress` says how, where a job reports more than the count. */
  onProgress?: (event: Progress) => void;
  /** Runs when the work ends, succeeded or not, before the store is closed (stop progress bars). */
  onEnd?: () => void;
}
