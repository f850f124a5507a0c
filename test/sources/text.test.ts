import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { InputError, parseCaptionFile, parseIdRows, readInputFile } from "../../src/sources/text.js";

const row = (fill: number, n = 4) => new Array(n).fill(fill);

describe("caption files", () => {
  it("takes every line of a text file, blank ones included, numbered from 0", () => {
    expect(parseCaptionFile("a cat\r\n\na dog\n", "c.txt", "text")).toEqual([
      { line: 0, text: "a cat" },
      { line: 1, text: "" },
      { line: 2, text: "a dog" },
    ]);
  });

  it("takes the named field of each JSON Lines record and names a line without it", () => {
    expect(parseCaptionFile('{"caption":"x"}\n{"caption":"y"}\n', "c.jsonl", "caption").map((c) => c.text)).toEqual(["x", "y"]);
    expect(() => parseCaptionFile('{"caption":"x"}\n{"text":"y"}', "c.jsonl", "caption")).toThrow(
      'c.jsonl line 2 has no string field "caption"; choose the field with --field',
    );
  });
});

describe("token id rows", () => {
  it("reads a JSON array, JSON Lines and perf_analyzer input data", () => {
    const rows = [row(1), row(2)];
    expect(parseIdRows(JSON.stringify(rows), "a.json", 4, 10)).toEqual(rows);
    expect(parseIdRows(rows.map((r) => JSON.stringify(r)).join("\n"), "a.jsonl", 4, 10)).toEqual(rows);
    const perf = { data: [{ INPUT_IDS: row(3) }, { INPUT_IDS: { content: row(4), shape: [4] } }] };
    expect(parseIdRows(JSON.stringify(perf), "input_ids.json", 4, 10)).toEqual([row(3), row(4)]);
  });

  it("names the row and the value that are wrong", () => {
    expect(() => parseIdRows(JSON.stringify([row(1), row(1, 3)]), "x.json", 4, 10)).toThrow(
      "x.json: row 1 has 3 ids; the model takes exactly 4 (pad with the pad id)",
    );
    expect(() => parseIdRows(JSON.stringify([[1, 2, 10, 1]]), "x.json", 4, 10)).toThrow("x.json: row 0, position 2: 10 is not a token id of this model (0..9)");
    expect(() => parseIdRows(JSON.stringify([[1, 2, 1.5, 1]]), "x.json", 4, 10)).toThrow("position 2: 1.5 is not a token id");
    expect(() => parseIdRows("nonsense", "x.json", 4, 10)).toThrow("x.json is neither JSON nor JSON Lines");
  });
});

describe("a leading UTF-8 byte order mark", () => {
  it("is taken off input files and piped captions, as Python's utf-8-sig does, and nowhere else", () => {
    const path = join(mkdtempSync(join(tmpdir(), "emb-bom-")), "labels.txt");
    writeFileSync(path, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from("cat\n\ufeffdog\n")]));
    expect(readInputFile(path, "--labels-file")).toBe("cat\n\ufeffdog\n");
    expect(parseCaptionFile('\ufeff{"text":"a cat"}\n', "c.jsonl", "text")).toEqual([{ line: 0, text: "a cat" }]);
    expect(parseCaptionFile("\ufeffa cat\n", "stdin", "text")).toEqual([{ line: 0, text: "a cat" }]);
  });
});

describe("text inputs that never end", () => {
  it("stop at the limit with one sentence instead of filling memory (--file /dev/zero)", () => {
    expect(() => readInputFile("/dev/zero", "--file", 2 ** 20)).toThrow(/^--file \/dev\/zero: more than 1 MiB, more than a text input can hold; split it/);
  });

  it("are read whole up to the limit", () => {
    const file = join(mkdtempSync(join(tmpdir(), "emb-text-")), "captions.txt");
    writeFileSync(file, "a".repeat(2 ** 20));
    expect(readInputFile(file, "--file", 2 ** 20)).toHaveLength(2 ** 20);
    writeFileSync(file, "a".repeat(2 ** 20 + 1));
    expect(() => readInputFile(file, "--file", 2 ** 20)).toThrow(InputError);
  });
});
