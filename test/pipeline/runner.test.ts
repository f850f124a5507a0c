import { describe, expect, it } from "vitest";
import { Runner, runInOrder, type Failure, type Prepared } from "../../src/pipeline/runner.js";

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A scripted model: doubles numbers; a batch holding a 13 fails as a whole. */
function runner(
  options: { prepareDelay?: (n: number) => number; maxBatchSize?: number; maxQueueDelayUs?: number; inFlight?: { now: number; max: number } } = {},
) {
  return new Runner(
    {
      prepare: async (n: number): Promise<Prepared<number, { n: number }>> => {
        const flight = options.inFlight;
        if (flight) flight.max = Math.max(flight.max, ++flight.now);
        await tick(options.prepareDelay?.(n) ?? 0);
        if (flight) flight.now--;
        if (n === 7) throw new Error("cannot read 7");
        if (n % 10 === 5) return { kind: "skipped" };
        if (n === 11) return { kind: "failed", reason: "unreadable", error: "11 is corrupt" };
        return { kind: "ready", input: n, meta: { n } };
      },
      infer: async (batch: number[]) => {
        await tick(1);
        if (batch.includes(13)) throw new Error("the model failed on this batch");
        return batch.map((n) => n * 2);
      },
      post: (out: number, meta: { n: number }) => {
        if (meta.n === 17) throw new Error("cannot parse 17");
        return `${meta.n}->${out}`;
      },
    },
    { maxBatchSize: options.maxBatchSize ?? 4, maxQueueDelayUs: options.maxQueueDelayUs ?? 2000 },
  );
}

function collect() {
  const seen: string[] = [];
  return {
    seen,
    sink: {
      done: (_n: number, r: string) => void seen.push(`done ${r}`),
      failed: (n: number, f: Failure) => void seen.push(`failed ${n} ${f.reason}: ${f.error}`),
      skipped: (n: number) => void seen.push(`skipped ${n}`),
    },
  };
}

describe("the runner", () => {
  it("hands every outcome to the sink in source order, whatever order the stages finish in", async () => {
    const { seen, sink } = collect();
    const items = [0, 1, 2, 3, 4, 6, 8, 9, 10];
    // Later items prepare faster: batches form out of order, the sink still sees source order.
    const counts = await runInOrder(runner({ prepareDelay: (n) => 20 - 2 * n }), items, sink, { readAhead: 8 });
    expect(seen).toEqual(items.map((n) => `done ${n}->${2 * n}`));
    expect(counts).toMatchObject({ done: 9, skipped: 0, failed: 0, interrupted: false });
    expect(counts.batching.inferences).toBe(9);
  });

  it("routes each failure to its item: unreadable, skipped, a failed batch, a failed post-process; the rest go on", async () => {
    const { seen, sink } = collect();
    // Batch size 1: only the item 13 is in the failing batch.
    const counts = await runInOrder(runner({ maxBatchSize: 1 }), [5, 7, 11, 12, 13, 14, 17, 18], sink, { readAhead: 4 });
    expect(seen).toEqual([
      "skipped 5",
      "failed 7 unreadable: cannot read 7",
      "failed 11 unreadable: 11 is corrupt",
      "done 12->24",
      "failed 13 inference: the model failed on this batch",
      "done 14->28",
      "failed 17 postprocess: cannot parse 17",
      "done 18->36",
    ]);
    expect(counts).toMatchObject({ done: 3, skipped: 1, failed: 4 });
  });

  it("a failed batch fails exactly the items batched with it", async () => {
    const { seen, sink } = collect();
    // A minute's queue delay: the batch closes only when all four are in, however slow the machine.
    await runInOrder(runner({ maxBatchSize: 4, maxQueueDelayUs: 60_000_000 }), [12, 13, 14, 16], sink, { readAhead: 8 });
    expect(seen.filter((s) => s.startsWith("failed")).length).toBe(4);
  });

  it("keeps at most readAhead items in flight", async () => {
    const inFlight = { now: 0, max: 0 };
    const { sink } = collect();
    await runInOrder(
      runner({ inFlight, prepareDelay: () => 3 }),
      Array.from({ length: 40 }, (_, i) => 20 + i),
      sink,
      { readAhead: 6 },
    );
    expect(inFlight.max).toBeLessThanOrEqual(6);
    expect(inFlight.max).toBeGreaterThan(1);
  });

  it("stops taking items when aborted and finishes those in flight", async () => {
    const abort = new AbortController();
    const { seen, sink } = collect();
    const source = (async function* () {
      for (let n = 20; n < 100; n++) {
        if (n === 30) abort.abort();
        yield n;
      }
    })();
    const counts = await runInOrder(runner(), source, sink, { readAhead: 4, signal: abort.signal });
    expect(counts.interrupted).toBe(true);
    // Items 20..29 were taken before the abort (25 is one a resume check skips); none after.
    expect(seen).toEqual(Array.from({ length: 10 }, (_, i) => (i === 5 ? "skipped 25" : `done ${20 + i}->${2 * (20 + i)}`)));
  });

  it("gives each item's stage times for perf", async () => {
    const outcome = await runner().process(4);
    expect(outcome.kind).toBe("done");
    if (outcome.kind === "done") {
      expect(outcome.result).toBe("4->8");
      expect(outcome.timing.batchSize).toBe(1);
      expect(outcome.timing.inferenceUs).toBeGreaterThan(0);
    }
  });
});
