import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkSameJob, ShardError, type OutputFolder } from "../../src/io/shards.js";

const folder = (command?: string): OutputFolder => ({
  dir: mkdtempSync(join(tmpdir(), "emb-shard-")),
  kind: "embeddings",
  run: { command, fingerprint: {} },
  finished: true,
});

describe("folders of different commands", () => {
  it("are named by the command their run.json records, and one that records none says so (not 'emb undefined')", () => {
    const [a, b] = [folder("embed image"), folder()];
    expect(() => checkSameJob([a, b], false)).toThrow(
      new ShardError(
        `${b.dir} was written by a run whose run.json names no command, ${a.dir} by emb embed image: only folders of one command can be read as one`,
      ),
    );
  });
});
