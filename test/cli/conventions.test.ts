/** CLI conventions: `emb help`, typo suggestions, NO_COLOR, and plain progress lines when piped. */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { useColor } from "../../src/cli/color.js";
import { distance } from "../../src/cli/hooks/command-not-found.js";
import { formatDuration, plainProgress, progressInterval, progressLine } from "../../src/cli/progress.js";
import { runCli, runCliAsync } from "../helpers/cli.js";
import { fixturePath } from "../helpers/fixtures.js";

const ESC = "\u001b";
const SIGLIP = fixturePath("siglip-tiny");
const PERF = ["perf", "--target", "siglip-text", "--model", SIGLIP, "--measurement-interval", "150", "--max-trials", "4", "--stability-percentage", "90"];

describe("emb help", () => {
  it("prints a command's usage", () => {
    const r = runCli(["help", "embed", "image"]);
    expect(r.stderr).not.toContain("not found");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("USAGE");
    expect(r.stdout).toContain("$ emb embed image");
  });

  it("lists the commands, autocomplete among them", () => {
    const r = runCli(["help"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/COMMANDS[\s\S]*autocomplete[\s\S]*perf/);
  });

  it("prints shell completion setup", () => {
    const r = runCli(["autocomplete", "bash"], { XDG_CACHE_HOME: mkdtempSync(join(tmpdir(), "emb-ac-")) });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("emb autocomplete script bash");
  });
});

describe("a mistyped command", () => {
  it("suggests the closest command on stderr and exits 127 without waiting for input", async () => {
    // stdin is a pipe that stays open: a prompt would hang until the test times out.
    const r = await runCliAsync(["embd", "image"]);
    expect(r.status).toBe(127);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("Did you mean embed image?");
    expect(r.stderr).toContain("emb help");
  }, 30_000);

  it("ranks by edit distance", () => {
    expect(distance("embd:image", "embed:image")).toBe(1);
    expect(distance("", "abc")).toBe(3);
    expect(distance("kitten", "sitting")).toBe(3);
  });
});

describe("colour", () => {
  it("follows NO_COLOR, FORCE_COLOR and the terminal", () => {
    expect(useColor({ isTTY: true }, {})).toBe(true);
    expect(useColor({ isTTY: false }, {})).toBe(false);
    expect(useColor({ isTTY: true }, { NO_COLOR: "1" })).toBe(false);
    expect(useColor({ isTTY: true }, { NO_COLOR: "" })).toBe(true);
    expect(useColor({ isTTY: false }, { FORCE_COLOR: "1" })).toBe(true);
    expect(useColor({ isTTY: false }, { FORCE_COLOR: "1", NO_COLOR: "1" })).toBe(false);
    expect(useColor({ isTTY: true }, { FORCE_COLOR: "0" })).toBe(false);
  });

  it("NO_COLOR=1 draws the perf table without escape sequences (FORCE_COLOR=1 alone colours it)", async () => {
    const [plain, coloured] = await Promise.all([runCliAsync(PERF, { NO_COLOR: "1", FORCE_COLOR: "1" }), runCliAsync(PERF, { FORCE_COLOR: "1" })]);
    expect(plain.status).toBe(0);
    expect(plain.stdout).toContain("concurrency");
    expect(plain.stdout + plain.stderr).not.toContain(ESC);
    expect(coloured.status).toBe(0);
    expect(coloured.stdout).toContain(ESC);
  });
});

describe("progress when stderr is not a terminal", () => {
  it("reads EMB_PROGRESS_INTERVAL", () => {
    expect(progressInterval({})).toBe(10);
    expect(progressInterval({ EMB_PROGRESS_INTERVAL: "2.5" })).toBe(2.5);
    expect(progressInterval({ EMB_PROGRESS_INTERVAL: "0" })).toBe(0);
    expect(progressInterval({ EMB_PROGRESS_INTERVAL: "soon" })).toBe(10);
    expect(progressInterval({ EMB_PROGRESS_INTERVAL: "-1" })).toBe(10);
  });

  it("formats a line", () => {
    expect(progressLine("embed image", "images", 1200, 40504, 1200 / 41.2)).toBe("embed image: 1200/40504 images (3.0%), 41.2 images/s, eta 15m54s");
    expect(progressLine("embedding", "img", 10, 10, 2, true)).toBe("embedding: 10/10 img (100.0%), 5.0 img/s, done in 2s");
    expect(progressLine("embedding", "img", 4, 10, 2, true)).toMatch(/stopped in 2s$/);
    expect(formatDuration(3725)).toBe("1h02m");
  });

  it("writes at most one line per interval, then a final line", () => {
    const lines: string[] = [];
    const p = plainProgress("x", "img", (l) => lines.push(l), 3600);
    p.start(100);
    for (let i = 0; i < 100; i++) p.tick();
    p.stop();
    p.stop();
    expect(lines).toEqual([expect.stringMatching(/^x: 100\/100 img \(100\.0%\), .* done in /)]);
  });

  it("a piped embed image prints plain lines on stderr and a final line; stdout stays clean", () => {
    const out = join(mkdtempSync(join(tmpdir(), "emb-progress-")), "out");
    const r = runCli(["embed", "image", fixturePath("images"), "--model", SIGLIP, "--out", out], { EMB_PROGRESS_INTERVAL: "0.01" });
    expect(r.status).toBe(0);
    const lines = r.stderr.split("\n").filter((l) => l.startsWith("embedding: "));
    expect(lines.length).toBeGreaterThanOrEqual(1);
    expect(lines.at(-1)).toMatch(/^embedding: (\d+)\/\1 img \(100\.0%\), [\d.]+ img\/s, done in \d+s$/);
    expect(r.stderr).not.toContain("\r");
    expect(r.stderr).not.toContain(ESC);
    expect(r.stdout).not.toContain("embedding: ");
  });

  it("--no-progress silences it", () => {
    const out = join(mkdtempSync(join(tmpdir(), "emb-progress-")), "out");
    const r = runCli(["embed", "image", fixturePath("images"), "--model", SIGLIP, "--out", out, "--no-progress"], { EMB_PROGRESS_INTERVAL: "0" });
    expect(r.status).toBe(0);
    expect(r.stderr).not.toContain("embedding: ");
  });
});
