/**
 * The open loop's sender thread (sender-thread.ts starts it): sends a remote target's requests on
 * the schedule with a client of its own and reads their answers, so that the main thread's work
 * (windows, statistics, progress, the garbage it makes) never makes a send late. Each answer is
 * posted to the main thread as it comes; the count of requests sent is shared memory.
 */
import { parentPort, workerData } from "node:worker_threads";
import { OpenLoop } from "./open-loop.js";
import { wallClockNs } from "./profile-export.js";
import { RemoteClient, RemoteError } from "./remote.js";
import { scheduleSendTimes } from "./schedule.js";
import type { SenderAnswer, SenderStart } from "./sender-thread.js";

const start = workerData as SenderStart;
const sent = new Int32Array(start.sentCounter);
const client = new RemoteClient(start.sender.url, start.sender.token, start.maxInFlight);
const { model, requests } = start.sender;
const nowUs = () => Number(process.hrtime.bigint() / 1000n);
const post = (answer: SenderAnswer) => parentPort!.postMessage(answer);

const loop = new OpenLoop({ sendTimes: scheduleSendTimes(start.schedule), maxInFlight: start.maxInFlight }, async (r) => {
  Atomics.add(sent, 0, 1);
  const startUs = nowUs();
  const sentNs = wallClockNs();
  try {
    await client.infer(model, requests[r.index % requests.length]);
    post({ ok: true, latencyUs: nowUs() - startUs, delayed: r.delayed, sentNs, answeredNs: wallClockNs() });
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
