/** Progress bars on stderr (cli-progress); silent when stderr is not a terminal or output is JSON. */
import cliProgress from "cli-progress";

export interface ProgressBar {
  start(total: number): void;
  tick(fields?: Record<string, string | number>): void;
  stop(): void;
}

export function progressBar(label: string, unit: string, enabled: boolean): ProgressBar {
  if (!enabled || !process.stderr.isTTY) return { start() {}, tick() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} {bar} {percentage}% | {value}/{total} ${unit} | {rate} ${unit}/s | ETA {eta_formatted} {note}`,
      stream: process.stderr,
      hideCursor: true,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = 0;
  let done = 0;
  return {
    start(total) {
      started = performance.now();
      bar.start(total, 0, { rate: "0.0", note: "" });
    },
    tick(fields = {}) {
      done++;
      const rate = done / Math.max((performance.now() - started) / 1000, 1e-3);
      bar.increment(1, { rate: rate.toFixed(1), ...fields });
    },
    stop() {
      bar.stop();
    },
  };
}

/** Download progress: one bar per file, by bytes. */
export function downloadBars(enabled: boolean) {
  if (!enabled || !process.stderr.isTTY) return undefined;
  const multi = new cliProgress.MultiBar(
    { format: "downloading {file} {bar} {percentage}% | {value_mb}/{total_mb} MB", stream: process.stderr, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  const bars = new Map<string, cliProgress.SingleBar>();
  return {
    update(file: string, received: number, total: number | undefined) {
      const mb = (n: number) => (n / 1e6).toFixed(1);
      let bar = bars.get(file);
      if (!bar) {
        bar = multi.create(total ?? received, 0, { file, value_mb: "0", total_mb: total ? mb(total) : "?" });
        bars.set(file, bar);
      }
      bar.update(received, { file, value_mb: mb(received), total_mb: total ? mb(total) : "?" });
    },
    stop() {
      multi.stop();
    },
  };
}
