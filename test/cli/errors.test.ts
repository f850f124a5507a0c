import { Errors } from "@oclif/core";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { EXIT, InputFailedError, toCliError, UsageError } from "../../src/cli/errors.js";
import { ModelNotFoundError } from "../../src/models/common/hub.js";
import { ModelLayoutError } from "../../src/models/common/layout.js";
import { DtypeSpecError } from "../../src/models/common/variants.js";
import { TaskError } from "../../src/models/registry.js";
import { ProviderUnavailableError } from "../../src/runtime/session.js";
import { runCli } from "../helpers/cli.js";
import { fixturePath } from "../helpers/fixtures.js";

describe("errors map to one code and exit status each", () => {
  it.each([
    [new DtypeSpecError("d"), "bad-dtype", EXIT.usage],
    [new TaskError("t"), "bad-task", EXIT.usage],
    [new UsageError("u"), "usage", EXIT.usage],
    [new InputFailedError("i"), "input-failed", EXIT.someFailed],
    [new RangeError("r"), "bad-value", EXIT.usage],
    [new ModelNotFoundError("m"), "model-not-found", EXIT.fatal],
    [new ModelLayoutError("l"), "model-layout", EXIT.fatal],
    [new ProviderUnavailableError("p"), "provider-unavailable", EXIT.fatal],
    [new TypeError("x is undefined"), "internal", EXIT.fatal],
  ])("%s", (error, code, exit) => {
    const mapped = toCliError(error);
    expect(mapped).toBeInstanceOf(Errors.CLIError);
    expect(mapped.code).toBe(code);
    expect(mapped.oclif.exit).toBe(exit);
    expect(mapped.message).toBe(error.message);
  });

  it("a missing model is fatal (1) and --json prints its code", () => {
    const run = runCli([
      "embed",
      "image",
      fixturePath("images", "small_64x48.jpg"),
      "--model",
      "./no-such-model-folder",
      "--out",
      join(tmpdir(), "emb-never-written"),
      "--json",
    ]);
    expect(run.status).toBe(1);
    expect(JSON.parse(run.stdout).error).toMatchObject({ code: "model-not-found" });
  });

  it("a mistyped input is a usage error that writes nothing: no output folder, no run.json", () => {
    const out = join(tmpdir(), `emb-typo-${process.pid}`);
    const image = runCli(["embed", "image", "./no-such-photos", "--model", fixturePath("siglip-tiny"), "--out", out]);
    expect(image.status).toBe(2);
    expect(image.stderr).toContain("./no-such-photos: no such file or directory; give image files or folders that exist");
    const text = runCli(["embed", "text", "--file", "./no-such-captions.txt", "--model", fixturePath("siglip-tiny"), "--out", out]);
    expect(text.status).toBe(2);
    expect(text.stderr).toContain("--file ./no-such-captions.txt: no such file");
    expect(existsSync(out)).toBe(false);
  });

  it("--json leaves the exit status as it is without --json, for every kind of error", () => {
    const broken = join(mkdtempSync(join(tmpdir(), "emb-broken-")), "broken.jpg");
    writeFileSync(broken, "not a jpeg");
    const never = join(dirname(broken), "out");
    const siglip = ["--model", fixturePath("siglip-tiny"), "--out", never];
    const cases: [string, string[], number][] = [
      ["missing input path", ["embed", "image", "./no-such-photos", ...siglip], EXIT.usage],
      ["missing --file", ["embed", "text", "--file", "./no-such-captions.txt", ...siglip], EXIT.usage],
      ["flag the command does not have", ["embed", "image", fixturePath("images"), "--no-such-flag", ...siglip], EXIT.usage],
      ["bad flag value", ["perf", "--model", fixturePath("siglip-tiny"), "--concurrency", "8:2"], EXIT.usage],
      [
        "missing annotations",
        ["coco", "eval", "--annotations", "./no-such-captions.json", "--results", fixturePath("coco", "results_test.json"), "--out", never],
        EXIT.usage,
      ],
      ["missing model", ["embed", "image", fixturePath("images", "small_64x48.jpg"), "--model", "./no-such-model-folder", "--out", never], EXIT.fatal],
      ["the only input failed", ["florence", "<CAPTION>", broken, "--model", fixturePath("florence2-tiny"), "--max-new-tokens", "4"], EXIT.someFailed],
    ];
    for (const [what, args, status] of cases) {
      const plain = runCli(args);
      expect(plain.status, `${what}: ${plain.stderr}`).toBe(status);
      const json = runCli([...args, "--json"]);
      expect(json.status, `${what} --json: ${json.stdout}`).toBe(status);
      // The JSON names the status the run exits with.
      expect(JSON.parse(json.stdout).error.oclif.exit, what).toBe(status);
    }
  });

  it("one corrupt image given alone is 'some inputs failed' (3), naming the file", () => {
    const broken = join(mkdtempSync(join(tmpdir(), "emb-broken-")), "broken.jpg");
    writeFileSync(broken, "not a jpeg");
    const run = runCli(["florence", "<CAPTION>", broken, "--model", fixturePath("florence2-tiny"), "--max-new-tokens", "4"]);
    expect(run.status).toBe(3);
    expect(run.stderr).toContain(`Error: ${broken}: `);
  });
});
