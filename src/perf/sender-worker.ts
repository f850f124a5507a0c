/**
 * One of the open loop's sender threads (sender-thread.ts starts them): sends its share of a
 * remote target's requests (every n-th of the schedule) with a client of its own and reads their answers, so that the main thread's work
 * (windows, statistics, progress, the garbage it makes) never makes a send late. Each answer is
 * posted to the main thread as it comes; the count of requests sent is shared memory.
 */
import { parentPort, workerData } from "node:worker_threads";
import { type Clock, hrNowUs, type IssuedRequest, OpenLoop, sleepShortOf } from "./open-loop.js";
import { wallClockNs } from "./profile-export.js";
import { RemoteClient, RemoteError } from "./remote.js";
import { scheduleSendTimes, shareOf } from "./schedule.js";
import type { SenderAnswer, SenderCommand, SenderStart } from "./sender-thread.js";

const start = workerData as SenderStart;
const sent = new Int32Array(start.sentCounter);
const client = new RemoteClient(start.sender.url, start.sender.token, start.maxInFlight);
const { index: share, of: senders } = start.share;
const { model, requests } = start.sender;
const nowUs = () => Number(process.hrtime.bigint() / 1000n);
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
    await sleepShortOf(timeUs, TIMER_MARGIN_US, signal);
    const restMs = (timeUs - hrNowUs()) / 1000;
    if (restMs > 0 && !signal.aborted) Atomics.wait(waitCell, 0, 0, restMs);
  },
};
const post = (answer: SenderAnswer) => parentPort!.postMessage(answer);

/** Sends request `r` of this thread's share and posts its answer. */
async function send(r: IssuedRequest): Promise<void> {
  Atomics.add(sent, 0, 1);
  const startUs = nowUs();
  const sentNs = wallClockNs();
  try {
    await client.infer(model, requests[(r.index * senders + share) % requests.length]);
    post({ ok: true, latencyUs: nowUs() - startUs, delayed: r.delayed, late: r.late, sentNs, answeredNs: wallClockNs() });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    post(error instanceof RemoteError ? { ok: false, message, remote: { status: error.status, serverMessage: error.serverMessage } } : { ok: false, message });
  }
}

let loop: OpenLoop | undefined;
// The threads start one schedule together: the main thread sends its start time once all are ready.
parentPort!.on("message", async (message: SenderCommand) => {
  if (message.kind === "start") {
    const sendTimes = shareOf(scheduleSendTimes(start.schedule), share, senders);
    loop = new OpenLoop({ sendTimes, maxInFlight: start.maxInFlight, clock: sleeperClock, startUs: message.startUs }, send);
    return;
  }
  await loop?.stop();
  client.close();
  parentPort!.postMessage("stopped");
});
parentPort!.postMessage("ready");
