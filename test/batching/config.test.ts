import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readBatcherConfig } from "../../src/batching/config.js";

const file = (content: string | Buffer) => {
  const path = join(mkdtempSync(join(tmpdir(), "emb-batcher-")), "batcher.json");
  writeFileSync(path, content);
  return path;
};

describe("--batcher-config files", () => {
  it("a leading UTF-8 byte order mark is read as without it", () => {
    const path = file(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"maxBatchSize": 8, "maxQueueDelayUs": 100}')]));
    expect(readBatcherConfig(path)).toEqual({ maxBatchSize: 8, maxQueueDelayUs: 100, workers: undefined });
  });

  it("a missing setting is named as missing, not as 'undefined'", () => {
    const path = file('{"maxQueueDelayUs": 100}');
    expect(() => readBatcherConfig(path)).toThrow(`--batcher-config ${path}: "maxBatchSize" must be an integer >= 1, not missing`);
  });
});
