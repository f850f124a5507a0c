/**
 * The open loop's sender thread (sender-thread.ts starts it): sends a remote target's requests on
 * the schedule with a client of its own and reads their answers, so that the main thread's work
 * (windows, statistics, progress, the garbage it makes) never makes a send late. Each answer is
 * posted to the main thread as it comes; the count of requests sent is shared memory.
 */
import { parentPort, workerData } from "node:worker_threads";
import { setTimeout as sleepMs } from "node:timers/promises";
import { type Clock, OpenLoop } from "./open-loop.js";
import { wallClockNs } from "./profile-export.js";
import { RemoteClient, RemoteError } from "./remote.js";
import { scheduleSendTimes } from "./schedule.js";
import type { SenderAnswer, SenderStart } from "./sender-thread.js";

const start = workerData as SenderStart;
const sent = new Int32Array(start.sentCounter);
const client = new RemoteClient(start.sender.url, start.sender.token, start.maxInFlight);
const { model, requests } = start.sender;
const nowUs = () => Number(process.hrtime.bigint() / 1000n);
const hrNowUs = () => Number(process.hrtime.bigint()) / 1000;
/** How early the event loop's timer is asked to end: Node's timers fire a millisecond or so late. */
const TIMER_MARGIN_US = 1500;
const waitCell = new Int32Array(new SharedArrayBuffer(4));

/**
 * Sleeps to a send time as a sleeping thread, never spinning: the event loop's timer to just
 * short of it (answers are read meanwhile), then a blocking wait for the rest. On a loaded
 * machine the kernel wakes a sleeper promptly, where a spinning thread waits for its turn: on 2
 * cores with 4 spinning processes this halved the sends over 1 ms late (28-33% from 50-52%).
 */
const sleeperClock: Clock = {
  nowUs: hrNowUs,
  async sleepUntilUs(timeUs, signal) {
    const coarseMs = (timeUs - hrNowUs() - TIMER_MARGIN_US) / 1000;
    if (coarseMs >= 1)
      await sleepMs(coarseMs, undefined, { signal }).catch((error) => {
        if (!signal.aborted) throw error;
      });
    const restMs = (timeUs - hrNowUs()) / 1000;
    if (restMs > 0 && !signal.aborted) Atomics.wait(waitCell, 0, 0, restMs);
  },
};
const post = (answer: SenderAnswer) => parentPort!.postMessage(answer);

const loop = new OpenLoop({ sendTimes: scheduleSendTimes(start.schedule), maxInFlight: start.maxInFlight, clock: sleeperClock }, async (r) => {
  Atomics.add(sent, 0, 1);
  const startUs = nowUs();
  const sentNs = wallClockNs();
  try {
    await client.infer(model, requests[r.index % requests.length]);
    post({ ok: true, latencyUs: nowUs() - startUs, delayed: r.delayed, late: r.late, sentNs, answeredNs: wallClockNs() });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    post(error instanceof RemoteError ? { ok: false, message, remote: { status: error.status, serverMessage: error.serverMessage } } : { ok: false, message });
  }
});

parentPort!.once("message", async () => {
  await loop.stop();
  client.close();
  parentPort!.postMessage("stopped");
});
