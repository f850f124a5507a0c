/**
 * emb perf's open loop against a server sends from threads of its own: sends keep to the
 * schedule while the main thread is busy, every answer reaches the main thread, a server's
 * error keeps its class and status, and stop() waits for the requests in flight.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RemoteError } from "../../src/perf/remote.js";
import { answerError, type SenderAnswer, SenderThreads } from "../../src/perf/sender-thread.js";
import type { RemoteSender } from "../../src/perf/targets.js";

let server: Server;
let url: string;
const bodies: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      bodies.push(`${req.url} ${req.headers["inference-header-content-length"]} ${req.headers.authorization} ${Buffer.concat(chunks).toString()}`);
      if (req.url?.includes("broken")) {
        res.writeHead(400, { "Content-Type": "application/json" }).end(JSON.stringify({ error: "bad input" }));
      } else res.writeHead(200).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const sender = (model: string): RemoteSender => ({
  url,
  token: "t0ken",
  model,
  requests: [
    { body: Buffer.from("{a}xy"), headerLength: 3 },
    { body: Buffer.from("{bb}z"), headerLength: 4 },
  ],
});

describe("the open loop's sender thread", () => {
  it("keeps sending on schedule while the main thread is blocked, and hears every answer after", async () => {
    bodies.length = 0;
    const answers: SenderAnswer[] = [];
    // 200 requests a second, evenly spaced.
    const thread = new SenderThreads(sender("m"), { kind: "rate", rate: 200, distribution: "constant", seed: 0 }, 64, (a) => answers.push(a));
    // The thread is sending (starting it from the TypeScript sources takes a while).
    while (thread.sent < 5) await new Promise((resolve) => setTimeout(resolve, 10));
    const before = thread.sent;
    // The main thread spins for 500 ms: a sender on it would send nothing meanwhile (100 were due).
    const until = Date.now() + 500;
    while (Date.now() < until);
    const during = thread.sent - before;
    expect(during).toBeGreaterThan(25);
    await thread.stop();
    // A second stop (a measurement's cleanup) waits for the same end.
    await thread.stop();
    const sent = thread.sent;
    expect(answers).toHaveLength(sent);
    expect(answers.every((a) => a.ok)).toBe(true);
    // The server answers on this thread: those sent while it spun waited, so they took longer than the spin's rest.
    const ok = answers as Extract<SenderAnswer, { ok: true }>[];
    expect(Math.max(...ok.map((a) => a.latencyUs))).toBeGreaterThan(100_000);
    for (const a of ok) expect(a.answeredNs > a.sentNs).toBe(true);
    // Requests round-robin over the threads' shares, sent as Triton's binary extension with the token.
    const [first, second] = ["/v2/models/m/infer 3 Bearer t0ken {a}xy", "/v2/models/m/infer 4 Bearer t0ken {bb}z"];
    expect(bodies).toHaveLength(sent);
    expect(new Set(bodies)).toEqual(new Set([first, second]));
    expect(Math.abs(bodies.filter((b) => b === first).length - bodies.filter((b) => b === second).length)).toBeLessThanOrEqual(4);
  });

  it("passes a server's error on as a RemoteError with its status", async () => {
    const answers: SenderAnswer[] = [];
    const thread = new SenderThreads(sender("broken"), { kind: "intervals", intervalsUs: [2000] }, 4, (a) => answers.push(a));
    while (answers.length < 3) await new Promise((resolve) => setTimeout(resolve, 5));
    await thread.stop();
    const failure = answers[0];
    expect(failure.ok).toBe(false);
    const error = answerError(failure as Extract<SenderAnswer, { ok: false }>);
    expect(error).toBeInstanceOf(RemoteError);
    expect((error as RemoteError).status).toBe(400);
    expect(error.message).toContain("bad input");
  });
});
