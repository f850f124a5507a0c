import type { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import type { ImagePreprocessing } from "../../src/image/normalize.js";
import { PreparePool } from "../../src/image/prepare-pool.js";
import { fixturePath } from "../helpers/fixtures.js";

const preprocessing: ImagePreprocessing = { width: 32, height: 32, rescale: 1 / 255, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], resample: "bicubic" };
const image = fixturePath("images", "photo_500x375.jpg");

describe("the preparation worker pool", () => {
  it("a worker that dies fails only its own requests and is replaced; the pool goes on", async () => {
    const pool = new PreparePool(1);
    try {
      const before = await pool.prepare(image, preprocessing, {});
      expect(before.ok).toBe(true);
      // Kill the only worker while it holds requests, as the OS would on out-of-memory.
      const inFlight = [0, 1, 2].map(() =>
        pool.prepare(image, preprocessing, {}).then(
          (r) => r.ok,
          (e: Error) => e.message,
        ),
      );
      const [worker] = (pool as unknown as { workers: Worker[] }).workers;
      await worker.terminate();
      const outcomes = await Promise.all(inFlight);
      expect(outcomes.every((o) => o === true || /worker stopped/.test(String(o)))).toBe(true);
      expect(outcomes.some((o) => o !== true)).toBe(true);
      const after = await pool.prepare(image, preprocessing, {});
      expect(after.ok).toBe(true);
      if (after.ok && before.ok) expect(Array.from(after.pixels)).toEqual(Array.from(before.pixels));
    } finally {
      await pool.close();
    }
  });
});
