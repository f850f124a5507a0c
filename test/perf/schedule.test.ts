import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  intervalSampler,
  intervalSendTimes,
  intervalsRate,
  parseRateRange,
  parseRequestIntervals,
  rateSendTimes,
  readRequestIntervals,
  shareOf,
} from "../../src/perf/schedule.js";

const take = (next: () => number, n: number) => Array.from({ length: n }, next);

describe("constant schedule", () => {
  it("sends request k at k / rate seconds, the first one interval after the start", () => {
    expect(take(rateSendTimes(4, "constant"), 5)).toEqual([250_000, 500_000, 750_000, 1_000_000, 1_250_000]);
    expect(take(rateSendTimes(0.5, "constant"), 3)).toEqual([2_000_000, 4_000_000, 6_000_000]);
  });

  it("does not drift: the 30,000th request at 3 per second is due at exactly 10,000 s", () => {
    const next = rateSendTimes(3, "constant");
    const times = take(next, 30_000);
    expect(times[29_999]).toBe(1e10);
    expect(times[2]).toBe(1e6);
  });
});

describe("poisson schedule", () => {
  // Intervals of a Poisson process of rate λ are exponential: mean 1/λ, variance 1/λ², fourth
  // central moment 9/λ⁴. Over n samples the sample mean has standard error (1/λ)/√n and the
  // sample variance (√8/λ²)/√n; the bounds below are six standard errors, which a correct
  // generator passes with a fixed seed (and fails, e.g., if the rate were taken per millisecond
  // or the intervals drawn uniformly: a uniform's variance is 1/(3λ²)).
  const n = 200_000;
  for (const rate of [20, 250]) {
    it(`intervals at ${rate}/s have mean 1/λ and variance 1/λ² within six standard errors`, () => {
      const xs = take(intervalSampler(rate, "poisson", 7), n).map((us) => us / 1e6);
      const mean = xs.reduce((s, x) => s + x, 0) / n;
      const variance = xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1);
      const mu = 1 / rate;
      expect(Math.abs(mean - mu)).toBeLessThan((6 * mu) / Math.sqrt(n));
      expect(Math.abs(variance - mu * mu)).toBeLessThan((6 * Math.sqrt(8) * mu * mu) / Math.sqrt(n));
      expect(xs.every((x) => x > 0)).toBe(true);
    });
  }

  it("a share e^-1 of the intervals is longer than the mean, as an exponential's", () => {
    const xs = take(intervalSampler(10, "poisson", 3), n);
    const longer = xs.filter((us) => us > 100_000).length / n;
    // Binomial standard error of the share: sqrt(p(1-p)/n).
    const p = Math.exp(-1);
    expect(Math.abs(longer - p)).toBeLessThan(6 * Math.sqrt((p * (1 - p)) / n));
  });

  it("send times are the running sum of the intervals, the same for the same seed and different for another", () => {
    const intervals = take(intervalSampler(50, "poisson", 11), 5);
    const times = take(rateSendTimes(50, "poisson", 11), 5);
    let t = 0;
    intervals.forEach((x, i) => {
      t += x;
      expect(times[i]).toBeCloseTo(t, 6);
    });
    expect(take(rateSendTimes(50, "poisson", 11), 5)).toEqual(times);
    expect(take(rateSendTimes(50, "poisson", 12), 5)).not.toEqual(times);
  });

  it("refuses a rate that is not a positive number", () => {
    expect(() => intervalSampler(0, "poisson")).toThrow(RangeError);
    expect(() => intervalSampler(Number.NaN, "constant")).toThrow(RangeError);
  });
});

describe("--request-intervals", () => {
  it("loops over the file's intervals, and stands for count / total time", () => {
    expect(take(intervalSendTimes([1000, 3000]), 5)).toEqual([1000, 4000, 5000, 8000, 9000]);
    // 4 requests over 10 ms: 400 per second.
    expect(intervalsRate([1000, 2000, 3000, 4000])).toBe(400);
  });

  it("reads whole microseconds, one per line, and names a bad line", () => {
    expect(parseRequestIntervals("100\n\n 250 \r\n0\n", "a.txt")).toEqual([100, 250, 0]);
    expect(() => parseRequestIntervals("100\n1.5\n", "a.txt")).toThrow('--request-intervals a.txt, line 2: "1.5" is not a whole number of microseconds');
    expect(() => parseRequestIntervals("\n\n", "a.txt")).toThrow("no intervals");
    expect(() => parseRequestIntervals("0\n0\n", "a.txt")).toThrow("every interval is 0");
    const dir = mkdtempSync(join(tmpdir(), "emb-intervals-"));
    writeFileSync(join(dir, "i.txt"), "5000\n");
    expect(readRequestIntervals(join(dir, "i.txt"))).toEqual([5000]);
    expect(() => readRequestIntervals(join(dir, "missing.txt"))).toThrow(/missing.txt: cannot read it \(ENOENT\)/);
  });
});

describe("shareOf", () => {
  it("gives each of n senders every n-th time of one schedule, together all of them once", () => {
    // 4 a second: due at 0.25, 0.5, 0.75, ... s
    const shares = [0, 1, 2].map((k) => shareOf(rateSendTimes(4, "constant"), k, 3));
    const drawn = shares.map((times) => [times(), times(), times()]);
    expect(drawn[1]).toEqual([500_000, 1_250_000, 2_000_000]);
    expect(drawn.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: 9 }, (_, i) => (i + 1) * 250_000));
  });
});

describe("parseRateRange", () => {
  it("takes R, start:end and start:end:step, decimals included, end inclusive", () => {
    expect(parseRateRange("20")).toEqual([20]);
    expect(parseRateRange("1:3")).toEqual([1, 2, 3]);
    expect(parseRateRange("10:50:20")).toEqual([10, 30, 50]);
    expect(parseRateRange("10:55:20")).toEqual([10, 30, 50]);
    // 1 + 0.1 added ten times is 2.0000000000000004: the end is kept, printed as 2.
    expect(parseRateRange("1:2:0.1")).toEqual([1, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 1.9, 2]);
    expect(parseRateRange("0.5:1.5:.5")).toEqual([0.5, 1, 1.5]);
  });

  it("refuses what is not a range of positive rates", () => {
    for (const bad of ["0", "-5", "abc", "5:1", "1:5:0", "1:2:3:4", "", "1e3", "1:5000", "10:"]) expect(parseRateRange(bad), bad).toBeUndefined();
  });
});
