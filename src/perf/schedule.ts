/**
 * When `emb perf` sends requests in request-rate mode, as perf_analyzer schedules them.
 *
 * Source read: triton-inference-server/perf_analyzer, src/perf_utils.cc `ScheduleDistribution`,
 * src/request_rate_manager.cc `CreateWorkerSchedules`, src/rate_schedule.h, src/custom_load_manager.cc
 * (`--request-intervals`, `GetCustomRequestRate`), docs/cli.md (`--request-rate-range`). The rules:
 *
 * - A schedule is a list of send times after the start; the first request is due one interval
 *   after the start, not at it.
 * - `constant`: every interval is 1 / rate seconds.
 * - `poisson`: intervals are drawn from an exponential distribution of rate `rate` (mean 1 / rate,
 *   variance 1 / rate^2), so arrivals form a Poisson process. perf_analyzer draws them from a
 *   default-seeded mt19937, the same schedule every run; here from a seeded mulberry32 (`--seed`),
 *   also the same every run unless the seed changes.
 * - `--request-intervals`: a file of intervals in microseconds, one per line, looped over for as
 *   long as the run lasts; the rate it stands for is count / total time.
 * - `--request-rate-range start[:end[:step]]` takes decimal rates; end defaults to start, step to 1.
 */
import { readFileSync } from "node:fs";
import { mulberry32 } from "../eval/random.js";

export const REQUEST_DISTRIBUTIONS = ["constant", "poisson"] as const;
export type RequestDistribution = (typeof REQUEST_DISTRIBUTIONS)[number];

/** Successive send times, microseconds after the start of the load. */
export type SendTimes = () => number;

/** Intervals between requests, microseconds: `constant` ones, or exponential ones from a generator seeded with `seed`. */
export function intervalSampler(rate: number, distribution: RequestDistribution, seed = 0): () => number {
  if (!(rate > 0) || !Number.isFinite(rate)) throw new RangeError(`request rate must be a positive number, got ${rate}`);
  const meanUs = 1e6 / rate;
  if (distribution === "constant") return () => meanUs;
  const random = mulberry32(seed);
  // Inverse transform: 1 - u is in (0, 1], so the logarithm is finite.
  return () => -Math.log(1 - random()) * meanUs;
}

/** Send times of `rate` requests per second. Constant ones are k / rate exactly, with no drift from adding up intervals. */
export function rateSendTimes(rate: number, distribution: RequestDistribution, seed = 0): SendTimes {
  const interval = intervalSampler(rate, distribution, seed);
  if (distribution === "constant") {
    let k = 0;
    return () => (++k * 1e6) / rate;
  }
  let t = 0;
  return () => (t += interval());
}

/** Send times that follow `intervalsUs`, looping over them. */
export function intervalSendTimes(intervalsUs: readonly number[]): SendTimes {
  if (intervalsUs.length === 0) throw new RangeError("no request intervals");
  let t = 0;
  let i = 0;
  return () => {
    t += intervalsUs[i];
    i = (i + 1) % intervalsUs.length;
    return t;
  };
}

/** The rate a list of intervals stands for, requests per second (perf_analyzer's `GetCustomRequestRate`). */
export function intervalsRate(intervalsUs: readonly number[]): number {
  const total = intervalsUs.reduce((s, x) => s + x, 0);
  return (intervalsUs.length * 1e6) / total;
}

/** A `--request-intervals` file: whole microseconds, one per line; blank lines are skipped. A RangeError names the bad line. */
export function parseRequestIntervals(text: string, path: string): number[] {
  const out: number[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const value = line.trim();
    if (value === "") return;
    if (!/^\d+$/.test(value))
      throw new RangeError(
        `--request-intervals ${path}, line ${i + 1}: "${value}" is not a whole number of microseconds; write one interval per line, e.g. 10000`,
      );
    out.push(Number(value));
  });
  if (out.length === 0) throw new RangeError(`--request-intervals ${path}: no intervals; write one interval in microseconds per line`);
  if (out.every((x) => x === 0))
    throw new RangeError(`--request-intervals ${path}: every interval is 0, which is no rate at all; give intervals in microseconds`);
  return out;
}

export function readRequestIntervals(path: string): number[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new RangeError(
      `--request-intervals ${path}: cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)}); give a file of intervals in microseconds, one per line`,
    );
  }
  return parseRequestIntervals(text, path);
}

/**
 * `--request-rate-range start[:end[:step]]`: the rates to measure, or undefined when the text is
 * not such a range of positive numbers. Values are start + k * step (not a running sum, so 0.1
 * steps do not drift), kept while within end (a billionth of a step of slack), rounded to 12
 * significant digits so that they print as given. More than MAX_RATE_LEVELS rates is refused too.
 */
/** The most rates one range may measure. */
export const MAX_RATE_LEVELS = 1000;

export function parseRateRange(text: string): number[] | undefined {
  const parts = text.split(":");
  if (parts.length > 3 || parts.some((p) => !/^\s*(\d+(\.\d*)?|\.\d+)\s*$/.test(p))) return undefined;
  const [start, end = start, step = 1] = parts.map(Number);
  if (!(start > 0) || end < start || !(step > 0)) return undefined;
  const out: number[] = [];
  for (let k = 0; ; k++) {
    const rate = start + k * step;
    if (rate > end + step * 1e-9) break;
    if (out.length === MAX_RATE_LEVELS) return undefined;
    out.push(Number(rate.toPrecision(12)));
  }
  return out;
}

/** A schedule as data, so that another thread can draw the same send times. */
export type Schedule = { kind: "rate"; rate: number; distribution: RequestDistribution; seed: number } | { kind: "intervals"; intervalsUs: number[] };

/** The send times of a schedule, fresh from its start. */
export function scheduleSendTimes(schedule: Schedule): SendTimes {
  return schedule.kind === "rate" ? rateSendTimes(schedule.rate, schedule.distribution, schedule.seed) : intervalSendTimes(schedule.intervalsUs);
}

/** The times of every `of`-th request from `index` on: one sender's share when several send one schedule. */
export function shareOf(times: SendTimes, index: number, of: number): SendTimes {
  let next = 0;
  return () => {
    let t: number;
    do t = times();
    while (next++ % of !== index);
    return t;
  };
}
