/**
 * Open-loop issuing for request-rate mode: each request is sent at its scheduled time whether or
 * not earlier ones have finished, as perf_analyzer's request-rate workers send them
 * (src/request_rate_worker.cc, `SleepIfNecessary`). Two counts of lateness:
 * - "delayed", perf_analyzer's rule: when the loop comes to a request (a free slot found), its time
 *   had already passed by more than DELAY_TOLERANCE_US: the client had fallen behind its schedule
 *   (a busy thread, or `maxInFlight` requests outstanding). A sleep that wakes late is not counted.
 * - "late", stricter: the request went out more than DELAY_TOLERANCE_US after its time, for
 *   whatever reason, a late wake-up on a loaded machine included.
 * A delayed request is still sent, at once, and the schedule is not shifted, so later requests
 * catch up.
 *
 * The clock is injectable so that the delay rule can be checked on hand-worked timelines.
 */
import { setImmediate as nextTurn, setTimeout as sleepMs } from "node:timers/promises";
import type { SendTimes } from "./schedule.js";

/** perf_analyzer's delay tolerance (RequestRateWorker::delay_tolerance_, 1 ms). */
export const DELAY_TOLERANCE_US = 1000;

export interface Clock {
  nowUs(): number;
  /** Resolves at `timeUs` (at once if it has passed), or when `signal` aborts. */
  sleepUntilUs(timeUs: number, signal: AbortSignal): Promise<void>;
}

/** The process's monotonic clock, microseconds. */
export const hrNowUs = () => Number(process.hrtime.bigint()) / 1000;
/** How early a timer is asked to fire: Node's timers are late by a millisecond or so. */
const TIMER_MARGIN_US = 2000;

/** Sleeps on the event loop's timer until `marginUs` before `timeUs` (not at all if that is under 1 ms away), or until `signal` aborts. */
export async function sleepShortOf(timeUs: number, marginUs: number, signal: AbortSignal): Promise<void> {
  const coarseMs = (timeUs - hrNowUs() - marginUs) / 1000;
  if (coarseMs >= 1)
    await sleepMs(coarseMs, undefined, { signal }).catch((error) => {
      if (!signal.aborted) throw error;
    });
}

/** The process's monotonic clock: a timer to just short of the time, then event-loop turns until it comes. */
export const systemClock: Clock = {
  nowUs: hrNowUs,
  async sleepUntilUs(timeUs, signal) {
    await sleepShortOf(timeUs, TIMER_MARGIN_US, signal);
    // Each turn lets I/O and timers run, so requests in flight are answered meanwhile.
    while (!signal.aborted && hrNowUs() < timeUs) await nextTurn();
  },
};

/** One request as the open loop issued it. */
export interface IssuedRequest {
  /** Its number in the schedule, from 0. */
  index: number;
  /** When it was due and when it was sent, on the loop's clock, microseconds. */
  dueUs: number;
  sentUs: number;
  /** Already more than DELAY_TOLERANCE_US overdue when the loop came to it (perf_analyzer's "delayed"). */
  delayed: boolean;
  /** Sent more than DELAY_TOLERANCE_US after it was due. */
  late: boolean;
}

export interface OpenLoopOptions {
  sendTimes: SendTimes;
  /** The most requests outstanding at once; one due while they are waits (and is then delayed). */
  maxInFlight: number;
  clock?: Clock;
  /** When the schedule starts, on the clock (default: now); several loops sharing one schedule share it. */
  startUs?: number;
  /** Stop after this many requests (default: run until stop()). */
  maxRequests?: number;
}

/** Sends requests on a schedule until stopped. */
export class OpenLoop {
  /** Requests sent so far. */
  sent = 0;
  private inFlight = 0;
  private readonly outstanding = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private slotFreed?: () => void;
  private readonly loop: Promise<void>;

  constructor(
    options: OpenLoopOptions,
    /** Sends one request; it should not reject (failures are the caller's to count). */
    send: (request: IssuedRequest) => Promise<void>,
  ) {
    if (!Number.isInteger(options.maxInFlight) || options.maxInFlight < 1)
      throw new RangeError(`maxInFlight must be an integer >= 1, got ${options.maxInFlight}`);
    this.loop = this.run(options, send);
  }

  private async run(options: OpenLoopOptions, send: (request: IssuedRequest) => Promise<void>): Promise<void> {
    const clock = options.clock ?? systemClock;
    const { signal } = this.abort;
    const start = options.startUs ?? clock.nowUs();
    const limit = options.maxRequests ?? Infinity;
    for (let index = 0; index < limit && !signal.aborted; index++) {
      const dueUs = start + options.sendTimes();
      while (this.inFlight >= options.maxInFlight && !signal.aborted) await new Promise<void>((resolve) => (this.slotFreed = resolve));
      const delayed = clock.nowUs() - dueUs > DELAY_TOLERANCE_US;
      await clock.sleepUntilUs(dueUs, signal);
      if (signal.aborted) break;
      const sentUs = clock.nowUs();
      this.inFlight++;
      this.sent++;
      const request = send({ index, dueUs, sentUs, delayed, late: sentUs - dueUs > DELAY_TOLERANCE_US }).finally(() => {
        this.inFlight--;
        this.outstanding.delete(request);
        this.slotFreed?.();
      });
      this.outstanding.add(request);
    }
  }

  /** Resolves when the schedule has ended (maxRequests sent) and every request has been answered. */
  async finished(): Promise<void> {
    await this.loop;
    await Promise.all(this.outstanding);
  }

  /** Stops sending and waits for the requests in flight. */
  async stop(): Promise<void> {
    this.abort.abort();
    this.slotFreed?.();
    await this.finished();
  }
}
