import { describe, expect, it } from "vitest";
import { DynamicBatcher } from "../../src/batching/batcher.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("DynamicBatcher", () => {
  it("answers each request with its own output", async () => {
    const batcher = new DynamicBatcher<number, number>(async (xs) => xs.map((x) => x * 10), {
      maxBatchSize: 4,
      maxQueueDelayUs: 1000,
    });
    const out = await Promise.all([1, 2, 3, 4, 5, 6].map((x) => batcher.submit(x)));
    expect(out).toEqual([10, 20, 30, 40, 50, 60]);
  });

  it("runs a full batch at once and the remainder after the queue delay", async () => {
    const batches: number[][] = [];
    const batcher = new DynamicBatcher<number, number>(
      async (xs) => {
        batches.push(xs);
        return xs;
      },
      { maxBatchSize: 3, maxQueueDelayUs: 20_000 },
    );
    const all = Promise.all([1, 2, 3, 4, 5].map((x) => batcher.submit(x)));
    await sleep(5);
    // The full batch ran without waiting; the partial one is still queued.
    expect(batches).toEqual([[1, 2, 3]]);
    expect(batcher.queued).toBe(2);
    await all;
    expect(batches).toEqual([
      [1, 2, 3],
      [4, 5],
    ]);
    expect(batcher.stats).toMatchObject({ inferences: 5, executions: 2, batchSizes: { 3: 1, 2: 1 } });
  });

  it("collects requests that arrive while a batch is executing into the next batch", async () => {
    const batches: number[][] = [];
    const batcher = new DynamicBatcher<number, number>(
      async (xs) => {
        batches.push(xs);
        await sleep(20);
        return xs;
      },
      { maxBatchSize: 8, maxQueueDelayUs: 0 },
    );
    const first = batcher.submit(0);
    await sleep(1);
    const rest = [1, 2, 3].map((x) => batcher.submit(x));
    await Promise.all([first, ...rest]);
    expect(batches).toEqual([[0], [1, 2, 3]]);
  });

  it("rejects every request of a failed batch and keeps serving", async () => {
    const batcher = new DynamicBatcher<number, number>(
      async (xs) => {
        if (xs.includes(13)) throw new Error("unlucky batch");
        return xs;
      },
      { maxBatchSize: 2, maxQueueDelayUs: 50_000 },
    );
    const results = await Promise.allSettled([13, 1].map((x) => batcher.submit(x)));
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    await expect(batcher.submit(7)).resolves.toBe(7);
  });

  it("names the bad setting", () => {
    expect(() => new DynamicBatcher(async (x) => x, { maxBatchSize: 0, maxQueueDelayUs: 0 })).toThrow(/maxBatchSize/);
  });
});

describe("DynamicBatcher backpressure", () => {
  it("whenQueuedAtMost resolves once batches have taken the queue down to the limit", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const batcher = new DynamicBatcher<number, number>(
      async (xs) => {
        await gate;
        return xs;
      },
      { maxBatchSize: 2, maxQueueDelayUs: 50_000 },
    );
    const all = [1, 2, 3, 4, 5, 6, 7].map((x) => batcher.submit(x));
    // [1, 2] is running; 5 wait.
    expect(batcher.queued).toBe(5);
    let roomy = false;
    const room = batcher.whenQueuedAtMost(3).then(() => (roomy = true));
    await sleep(5);
    expect(roomy).toBe(false);
    release();
    await room;
    expect(batcher.queued).toBeLessThanOrEqual(3);
    await Promise.all(all);
  });

  it("reports each request's queue time, its batch's compute time and size", async () => {
    const batcher = new DynamicBatcher<number, number>(
      async (xs) => {
        await sleep(30);
        return xs;
      },
      { maxBatchSize: 3, maxQueueDelayUs: 20_000 },
    );
    const [a, b, c, d] = await Promise.all([1, 2, 3, 4].map((x) => batcher.submitTimed(x)));
    // 1-3 fill a batch at once; 4 waits for it (30 ms) and runs alone.
    expect([a.batchSize, b.batchSize, c.batchSize, d.batchSize]).toEqual([3, 3, 3, 1]);
    expect(a.queueUs).toBeLessThan(d.queueUs); // 1-3 ran at once; 4 waited for their batch
    expect(d.queueUs).toBeGreaterThanOrEqual(20_000);
    for (const t of [a, d]) expect(t.computeUs).toBeGreaterThanOrEqual(20_000);
    expect(d.output).toBe(4);
  });
});
