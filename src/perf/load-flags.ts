/**
 * `emb perf`'s load and window flags turned into the load levels to measure and the window
 * mode, with a usage error (RangeError) naming the flag for every combination that cannot mean
 * anything: two loads at once, a schedule option without a schedule, a window option of the
 * other window mode.
 */
import { parseRange } from "./run.js";
import type { LoadShape, WindowMode } from "./load.js";
import {
  intervalsRate,
  MAX_RATE_LEVELS,
  parseRateRange,
  readRequestIntervals,
  type RequestDistribution,
  type Schedule,
  scheduleSendTimes,
} from "./schedule.js";

export const MEASUREMENT_MODES = ["time_windows", "count_windows"] as const;

/** Requests outstanding at most in rate mode, unless --max-in-flight says otherwise. */
export const DEFAULT_MAX_IN_FLIGHT = 1024;

export interface LoadFlags {
  concurrency: string;
  "request-rate-range"?: string;
  "request-distribution": string;
  "request-intervals"?: string;
  seed: number;
  "max-in-flight": number;
  "measurement-mode": string;
  "measurement-interval": number;
  "measurement-request-count": number;
}

export interface LoadPlan {
  levels: LoadShape[];
  window: WindowMode;
}

const names = (flags: string[]) => flags.map((f) => `--${f}`).join(", ");

/** The levels and window mode the flags ask for; `given` holds the flags the user typed. */
export function loadPlan(flags: LoadFlags, given: ReadonlySet<string>): LoadPlan {
  const loads = ["concurrency", "request-rate-range", "request-intervals"].filter((f) => given.has(f));
  if (loads.length > 1) {
    throw new RangeError(
      `${names(loads)} each set the load: give one (--concurrency N keeps N requests in flight; --request-rate-range R sends R requests a second; --request-intervals file sends them at the file's intervals)`,
    );
  }
  const rateOnly = (which: string[], what: string) => {
    const bad = which.filter((f) => given.has(f));
    if (bad.length > 0) throw new RangeError(`${names(bad)} ${bad.length === 1 ? "applies" : "apply"} only ${what}`);
  };
  const scheduled = given.has("request-rate-range") || given.has("request-intervals");
  if (!scheduled) rateOnly(["max-in-flight"], "to requests sent on a schedule: add --request-rate-range R (requests per second)");
  if (!given.has("request-rate-range")) rateOnly(["request-distribution", "seed"], "with --request-rate-range R (requests per second)");
  if (given.has("seed") && flags["request-distribution"] !== "poisson")
    throw new RangeError("--seed draws a Poisson schedule: add --request-distribution poisson");

  const count = flags["measurement-mode"] === "count_windows";
  if (count) rateOnly(["measurement-interval"], "with --measurement-mode time_windows; count windows end after --measurement-request-count requests");
  else rateOnly(["measurement-request-count"], "with --measurement-mode count_windows");
  const window: WindowMode = count ? { mode: "count", requests: flags["measurement-request-count"] } : { mode: "time", ms: flags["measurement-interval"] };

  const maxInFlight = flags["max-in-flight"];
  if (flags["request-intervals"]) {
    const intervals = readRequestIntervals(flags["request-intervals"]);
    const schedule: Schedule = { kind: "intervals", intervalsUs: intervals };
    return { levels: [{ kind: "rate", rate: intervalsRate(intervals), sendTimes: () => scheduleSendTimes(schedule), schedule, maxInFlight }], window };
  }
  const rangeText = flags["request-rate-range"];
  if (rangeText !== undefined) {
    const rates = parseRateRange(rangeText);
    if (!rates) {
      throw new RangeError(
        `--request-rate-range ${rangeText}: give requests per second as R or start:end:step with start > 0, end >= start and step > 0 (e.g. 10:50:10), at most ${MAX_RATE_LEVELS} rates`,
      );
    }
    const distribution = flags["request-distribution"] as RequestDistribution;
    return {
      levels: rates.map((rate) => {
        const schedule: Schedule = { kind: "rate", rate, distribution, seed: flags.seed };
        return { kind: "rate", rate, sendTimes: () => scheduleSendTimes(schedule), schedule, maxInFlight };
      }),
      window,
    };
  }
  const concurrencies = parseRange(flags.concurrency);
  if (!concurrencies) throw new RangeError(`--concurrency ${flags.concurrency}: give N or start:end:step (e.g. 1:64:8)`);
  return { levels: concurrencies.map((concurrency) => ({ kind: "concurrency", concurrency })), window };
}
