/**
 * Progress on stderr, never stdout (so --json output is untouched; --no-progress silences it):
 * a cli-progress bar when stderr is a terminal, otherwise (Slurm, nohup, CI, `2>log`) a plain line
 * every EMB_PROGRESS_INTERVAL seconds (default 10) and a final line, with no \r or escape codes.
 */
import cliProgress from "cli-progress";

export const DEFAULT_PROGRESS_INTERVAL_S = 10;

/** Seconds between plain progress lines: EMB_PROGRESS_INTERVAL when it is a number >= 0, else 10. */
export function progressInterval(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.EMB_PROGRESS_INTERVAL?.trim();
  const value = raw ? Number(raw) : NaN;
  return Number.isFinite(value) && value >= 0 ? value : DEFAULT_PROGRESS_INTERVAL_S;
}

/** 16m, 1h05m, 42s: the coarse durations of a log line. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/** One plain progress line: `embedding: 1200/40504 img (3.0%), 41.2 img/s, eta 16m25s`. */
export function progressLine(label: string, unit: string, done: number, total: number, elapsedS: number, final = false): string {
  const rate = done / Math.max(elapsedS, 1e-3);
  const pct = total > 0 ? ` (${((100 * done) / total).toFixed(1)}%)` : "";
  const tail = final ? `${done >= total ? "done" : "stopped"} in ${formatDuration(elapsedS)}` : `eta ${rate > 0 ? formatDuration((total - done) / rate) : "?"}`;
  return `${label}: ${done}/${total} ${unit}${pct}, ${rate.toFixed(1)} ${unit}/s, ${tail}`;
}

/** The progress of a run whose stderr is not a terminal: a line every `intervalS` seconds and one at the end. */
export function plainProgress(label: string, unit: string, write: (line: string) => void, intervalS = progressInterval()): ProgressBar {
  let started: number | undefined;
  let last = 0;
  let done = 0;
  let total = 0;
  let note = "";
  const elapsed = () => (performance.now() - (started ?? performance.now())) / 1000;
  return {
    start(n) {
      started = performance.now();
      last = started;
      done = 0;
      total = n;
    },
    tick(fields = {}) {
      done++;
      if (typeof fields.note === "string" && fields.note) note = fields.note;
      const now = performance.now();
      if (started !== undefined && done < total && (now - last) / 1000 >= intervalS) {
        last = now;
        write(progressLine(label, unit, done, total, elapsed()) + (note ? ` ${note}` : ""));
        note = "";
      }
    },
    stop() {
      if (started === undefined) return;
      write(progressLine(label, unit, done, total, elapsed(), true));
      started = undefined;
    },
  };
}

export interface ProgressBar {
  start(total: number): void;
  tick(fields?: Record<string, string | number>): void;
  stop(): void;
}

export function progressBar(label: string, unit: string, enabled: boolean): ProgressBar {
  if (!enabled) return { start() {}, tick() {}, stop() {} };
  if (!process.stderr.isTTY) return plainProgress(label, unit, (line) => process.stderr.write(`${line}\n`));
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

export interface DownloadProgress {
  update(file: string, received: number, total: number | undefined): void;
  stop(): void;
}

/** The unit a size reads best in: MB, kB or bytes, with one decimal. */
function sizeUnit(bytes: number): { unit: string; of: (n: number) => number } {
  const [scale, unit] = bytes >= 1e6 ? [1e6, "MB"] : bytes >= 1e3 ? [1e3, "kB"] : [1, "B"];
  return { unit, of: (n) => Math.round((10 * n) / scale) / 10 };
}

/**
 * Download progress when stderr is not a terminal: per file, a plain line every `intervalS`
 * seconds and one when it is complete (or, at stop, when it stopped), in MB, kB or bytes.
 */
export function plainDownloadProgress(write: (line: string) => void, intervalS = progressInterval()): DownloadProgress {
  const files = new Map<string, { started: number; last: number; received: number; total: number | undefined; ended: boolean }>();
  const line = (file: string, final: boolean) => {
    const f = files.get(file)!;
    const elapsed = (performance.now() - f.started) / 1000;
    const label = `downloading ${file}`;
    const { unit, of } = sizeUnit(f.total ?? f.received);
    if (f.total !== undefined) return write(progressLine(label, unit, of(f.received), of(f.total), elapsed, final));
    // The server sent no size: what arrived, and how fast.
    const rate = of(f.received) / Math.max(elapsed, 1e-3);
    write(`${label}: ${of(f.received)} ${unit}, ${rate.toFixed(1)} ${unit}/s${final ? `, ended after ${formatDuration(elapsed)}` : ""}`);
  };
  return {
    update(file, received, total) {
      const now = performance.now();
      let f = files.get(file);
      if (!f) {
        f = { started: now, last: now, received, total, ended: false };
        files.set(file, f);
      }
      Object.assign(f, { received, total });
      if (f.ended) return;
      if (total !== undefined && received >= total) {
        f.ended = true;
        line(file, true);
      } else if ((now - f.last) / 1000 >= intervalS) {
        f.last = now;
        line(file, false);
      }
    },
    stop() {
      for (const [file, f] of files) if (!f.ended) line(file, true);
      files.clear();
    },
  };
}

/** Download progress: one bar per file, by bytes, at a terminal; plain lines otherwise. */
export function downloadBars(enabled: boolean): DownloadProgress | undefined {
  if (!enabled) return undefined;
  if (!process.stderr.isTTY) return plainDownloadProgress((line) => process.stderr.write(`${line}\n`));
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
