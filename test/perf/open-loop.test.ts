/**
 * The open loop on a hand-driven clock: when each request is sent, which ones count as delayed
 * (over 1 ms overdue when the loop comes to them, perf_analyzer's rule) and late (sent over 1 ms
 * after their time), and that the schedule never waits for
 * answers unless --max-in-flight requests are outstanding. No real time is measured.
 */
import { describe, expect, it } from "vitest";
import { DELAY_TOLERANCE_US, OpenLoop, type Clock, type IssuedRequest } from "../../src/perf/open-loop.js";
import { rateSendTimes, shareOf } from "../../src/perf/schedule.js";

/** A clock that moves only when told to: sleeping to a time jumps there at once. */
class FakeClock implements Clock {
  constructor(public now = 0) {}
  nowUs(): number {
    return this.now;
  }
  async sleepUntilUs(timeUs: number): Promise<void> {
    this.now = Math.max(this.now, timeUs);
  }
}

const summary = (issued: IssuedRequest[]) => issued.map((r) => ({ index: r.index, due: r.dueUs, sent: r.sentUs, delayed: r.delayed }));

describe("OpenLoop", () => {
  it("sends each request at its time without waiting for earlier answers", async () => {
    const clock = new FakeClock(5_000_000);
    const issued: IssuedRequest[] = [];
    // No request is ever answered during the schedule: a closed loop would send only the first.
    let answer!: () => void;
    const never = new Promise<void>((resolve) => (answer = resolve));
    const loop = new OpenLoop({ sendTimes: rateSendTimes(4, "constant"), maxInFlight: 100, clock, maxRequests: 4 }, (r) => {
      issued.push(r);
      return never;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(summary(issued)).toEqual([
      { index: 0, due: 5_250_000, sent: 5_250_000, delayed: false },
      { index: 1, due: 5_500_000, sent: 5_500_000, delayed: false },
      { index: 2, due: 5_750_000, sent: 5_750_000, delayed: false },
      { index: 3, due: 6_000_000, sent: 6_000_000, delayed: false },
    ]);
    expect(loop.sent).toBe(4);
    answer();
    await loop.finished();
  });

  it("counts a request sent more than 1 ms late as delayed, and catches up without shifting the schedule", async () => {
    // 1000 requests a second: due at 1, 2, 3, ... ms. Sending request 1 (due at 2 ms) keeps the
    // thread busy for 3.5 ms, so requests 2, 3 and 4 (due at 3, 4, 5 ms) go out at 5.5 ms:
    // 2.5 ms, 1.5 ms and 0.5 ms late. Only the first two are past the 1 ms tolerance.
    const clock = new FakeClock();
    const issued: IssuedRequest[] = [];
    const loop = new OpenLoop({ sendTimes: rateSendTimes(1000, "constant"), maxInFlight: 100, clock, maxRequests: 7 }, async (r) => {
      issued.push(r);
      if (r.index === 1) clock.now += 3500;
    });
    await loop.finished();
    expect(summary(issued)).toEqual([
      { index: 0, due: 1000, sent: 1000, delayed: false },
      { index: 1, due: 2000, sent: 2000, delayed: false },
      { index: 2, due: 3000, sent: 5500, delayed: true },
      { index: 3, due: 4000, sent: 5500, delayed: true },
      { index: 4, due: 5000, sent: 5500, delayed: false },
      { index: 5, due: 6000, sent: 6000, delayed: false },
      { index: 6, due: 7000, sent: 7000, delayed: false },
    ]);
  });

  it("a sleep that wakes late makes a request late but not delayed (perf_analyzer counts only a client behind its schedule)", async () => {
    // 100 requests a second, due at 10, 20 and 30 ms. The sleep before request 1 wakes 1.5 ms
    // after its time; sending request 0 takes 12 ms, so the loop comes to request 1 at 22 ms,
    // already 2 ms overdue: delayed and late. Request 2's sleep wakes on time.
    class LateWaker extends FakeClock {
      override async sleepUntilUs(timeUs: number): Promise<void> {
        this.now = Math.max(this.now, timeUs + (timeUs === 10_000 ? 1500 : 0));
      }
    }
    const clock = new LateWaker();
    const issued: IssuedRequest[] = [];
    const loop = new OpenLoop({ sendTimes: rateSendTimes(100, "constant"), maxInFlight: 10, clock, maxRequests: 3 }, async (r) => {
      issued.push(r);
      if (r.index === 0) clock.now += 10_500;
    });
    await loop.finished();
    expect(issued.map((r) => ({ index: r.index, sent: r.sentUs, delayed: r.delayed, late: r.late }))).toEqual([
      { index: 0, sent: 11_500, delayed: false, late: true },
      { index: 1, sent: 22_000, delayed: true, late: true },
      { index: 2, sent: 30_000, delayed: false, late: false },
    ]);
  });

  it("loops given one start and shares of one schedule send it together, each request once", async () => {
    // Two senders of 100 a second started at 50 ms, though the second comes up 7 ms later.
    const clock = new FakeClock(50_000);
    const sent: number[] = [];
    const loops = [0, 1].map((k) => {
      if (k === 1) clock.now += 7000;
      return new OpenLoop({ sendTimes: shareOf(rateSendTimes(100, "constant"), k, 2), maxInFlight: 10, clock, startUs: 50_000, maxRequests: 2 }, async (r) => {
        sent.push(r.dueUs);
      });
    });
    await Promise.all(loops.map((l) => l.finished()));
    expect(sent.sort((a, b) => a - b)).toEqual([60_000, 70_000, 80_000, 90_000]);
  });

  it("the tolerance is exclusive: exactly 1 ms late is on time", async () => {
    const clock = new FakeClock();
    const issued: IssuedRequest[] = [];
    const late = [DELAY_TOLERANCE_US, DELAY_TOLERANCE_US + 1];
    const loop = new OpenLoop({ sendTimes: rateSendTimes(100, "constant"), maxInFlight: 10, clock, maxRequests: 3 }, async (r) => {
      issued.push(r);
      if (r.index < 2) clock.now = (r.index + 2) * 10_000 + late[r.index];
    });
    await loop.finished();
    expect(issued.map((r) => [r.sentUs - r.dueUs, r.delayed])).toEqual([
      [0, false],
      [1000, false],
      [1001, true],
    ]);
  });

  it("with --max-in-flight requests outstanding, the next one waits for an answer and is then delayed", async () => {
    const clock = new FakeClock();
    const issued: IssuedRequest[] = [];
    const answers: (() => void)[] = [];
    const loop = new OpenLoop({ sendTimes: rateSendTimes(100, "constant"), maxInFlight: 2, clock, maxRequests: 4 }, (r) => {
      issued.push(r);
      return new Promise<void>((resolve) => answers.push(resolve));
    });
    const settle = () => new Promise((resolve) => setTimeout(resolve, 10));
    await settle();
    // Two outstanding (due at 10 and 20 ms): the third waits.
    expect(issued.map((r) => r.index)).toEqual([0, 1]);
    clock.now = 45_000; // the first answer comes at 45 ms
    answers[0]();
    await settle();
    // Request 2 (due 30 ms) goes out at 45 ms: 15 ms late. Request 3 waits again for a free slot.
    expect(summary(issued).slice(2)).toEqual([{ index: 2, due: 30_000, sent: 45_000, delayed: true }]);
    answers[1]();
    await settle();
    expect(summary(issued).slice(3)).toEqual([{ index: 3, due: 40_000, sent: 45_000, delayed: true }]);
    answers[2]();
    answers[3]();
    await loop.finished();
    expect(loop.sent).toBe(4);
  });

  it("stop() ends the schedule and waits for the requests in flight", async () => {
    const clock = new FakeClock();
    let inFlight = 0;
    const answers: (() => void)[] = [];
    const loop = new OpenLoop({ sendTimes: rateSendTimes(10, "constant"), maxInFlight: 3, clock }, () => {
      inFlight++;
      return new Promise<void>((resolve) =>
        answers.push(() => {
          inFlight--;
          resolve();
        }),
      );
    });
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(loop.sent).toBe(3);
    let stopped = false;
    const stopping = loop.stop().then(() => (stopped = true));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(stopped).toBe(false);
    for (const answer of answers) answer();
    await stopping;
    expect(inFlight).toBe(0);
    expect(loop.sent).toBe(3);
  });

  it("refuses a bound below one", () => {
    expect(() => new OpenLoop({ sendTimes: rateSendTimes(1, "constant"), maxInFlight: 0 }, async () => {})).toThrow(RangeError);
  });
});
