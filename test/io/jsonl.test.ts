import { appendFileSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { JsonlAppender, readJsonl, rewriteJsonl } from "../../src/io/jsonl.js";

const file = () => join(mkdtempSync(join(tmpdir(), "emb-jsonl-")), "index.jsonl");

describe("JSON Lines", () => {
  it("appends records one per line and reads them back in order", () => {
    const path = file();
    const out = new JsonlAppender(path);
    out.append([
      { row: 0, path: "a.jpg" },
      { row: 1, path: "b.jpg" },
    ]);
    out.append([{ row: 2, path: "c.jpg" }]);
    out.close();
    expect(readFileSync(path, "utf8")).toBe('{"row":0,"path":"a.jpg"}\n{"row":1,"path":"b.jpg"}\n{"row":2,"path":"c.jpg"}\n');
    expect(readJsonl<{ row: number }>(path).map((r) => r.row)).toEqual([0, 1, 2]);
  });

  it("drops the torn last line a crash mid-write leaves, keeping every complete record", () => {
    const path = file();
    writeFileSync(path, '{"row":0}\n{"row":1}\n');
    appendFileSync(path, '{"row":2,"pa'); // killed in the middle of a write
    expect(readJsonl<{ row: number }>(path)).toEqual([{ row: 0 }, { row: 1 }]);
    // The next append after a resume starts on a line of its own once the torn tail is rewritten.
    rewriteJsonl(path, readJsonl(path));
    new JsonlAppender(path).append([{ row: 2 }]);
    expect(readJsonl<{ row: number }>(path)).toEqual([{ row: 0 }, { row: 1 }, { row: 2 }]);
  });

  it("reads a missing file as empty, and rewrites through a temporary file that does not stay behind", () => {
    const path = file();
    expect(readJsonl(path)).toEqual([]);
    rewriteJsonl(path, [{ a: 1 }]);
    expect(readJsonl(path)).toEqual([{ a: 1 }]);
    expect(readdirSync(join(path, "..")).sort()).toEqual(["index.jsonl"]);
  });
});
