/**
 * `emb perf --report`, opened in a real headless Chromium: the page loads with no console error
 * and nothing fetched, its charts are drawn (SVG with a size and marks), and every number on it
 * is the one in the report.json beside it. With UPDATE_SCREENSHOTS=1 docs/images/perf-report.png
 * is written again.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromiumPath, launchBrowser, openFile } from "../helpers/browser.js";
import { ROOT, runCli } from "../helpers/cli.js";
import { fixturePath } from "../helpers/fixtures.js";
import type { PerfReport } from "../../src/perf/perf-report.js";

const browserFound = chromiumPath();
if (!browserFound) console.warn("page tests skipped: no Chromium found (install Debian's chromium or set CHROMIUM_PATH)");

// Relative to the repository root (the CLI's working directory), so the report's command shows no machine path.
const SIGLIP = relative(ROOT, fixturePath("siglip-tiny"));
const fast = ["--measurement-interval", "150", "--stability-percentage", "90", "--max-trials", "4", "--no-progress", "--json"];
const screenshots = process.env.UPDATE_SCREENSHOTS === "1" ? resolve("docs", "images") : undefined;

/** The value at a dotted path of report.json ("rows.0.latencyMs.p99"). */
function at(report: unknown, path: string): unknown {
  return path.split(".").reduce<unknown>((v, k) => (v as Record<string, unknown>)[k], report);
}

async function checkPage(browser: Browser, dir: string, screenshot?: string) {
  const report = JSON.parse(readFileSync(join(dir, "report.json"), "utf8")) as PerfReport;
  const { page, errors } = await openFile(browser, join(dir, "index.html"));
  const requests: string[] = [];
  page.on("request", (r) => requests.push(r.url()));
  try {
    await page.reload({ waitUntil: "load" });
    expect(errors).toEqual([]);
    expect(requests.filter((u) => !u.startsWith("file://"))).toEqual([]);
    for (const id of ["curves", "stages"]) {
      const chart = await page.$eval(`#${id} svg`, (svg) => {
        const box = svg.getBoundingClientRect();
        return { width: box.width, height: box.height, marks: svg.querySelectorAll("path, rect, line").length };
      });
      expect(chart.width, id).toBeGreaterThan(300);
      expect(chart.height, id).toBeGreaterThan(50);
      expect(chart.marks, id).toBeGreaterThan(report.rows.length);
    }
    // Every number shown, to the digits shown, is report.json's.
    const shown = await page.$$eval(".num", (all) =>
      all.map((e) => ({ field: e.getAttribute("data-field")!, digits: Number(e.getAttribute("data-digits")), text: e.textContent })),
    );
    expect(shown.length).toBeGreaterThan(report.rows.length * 10);
    for (const { field, digits, text } of shown) expect(text, field).toBe((at(report, field) as number).toFixed(digits));
    expect(await page.$$eval("#results tbody tr", (rows) => rows.length)).toBe(report.rows.length);
    expect(await page.textContent("#command")).toBe(report.command);
    const machine = await page.textContent("#machine");
    for (const text of [report.machine.cpu, report.software.node, report.software["onnxruntime-node"], report.software.emb]) expect(machine).toContain(text);
    if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
  } finally {
    await page.close();
  }
  return report;
}

describe.skipIf(!browserFound)("emb perf --report in a browser", () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it("--sweep: the best configuration within the budget, every configuration on the chart, the numbers of report.json", async () => {
    const dir = join(mkdtempSync(join(tmpdir(), "emb-perf-report-")), "report");
    const config = join(dir, "..", "batcher.json");
    const args = ["perf", "--target", "siglip-text", "--model", SIGLIP, "--concurrency", "4", "--sweep", "--sweep-batch-sizes", "1,4,8"];
    const run = runCli([...args, "--sweep-queue-delays-us", "0,2000", "--save-config", config, "--report", dir, "--latency-budget-ms", "60", ...fast]);
    expect(run.status, run.stderr).toBe(0);
    const json = JSON.parse(run.stdout);
    const report = await checkPage(browser, dir, screenshots && join(screenshots, "perf-report.png"));
    expect(report.kind).toBe("sweep");
    expect(report.rows).toHaveLength(6);
    expect(report.rows.map((r) => r.throughput)).toEqual(json.sweep.map((r: { throughput: number }) => Number(r.throughput.toFixed(2))));
    expect(report.latencyBudgetMs).toBe(60);
    // The fastest within the budget: the sweep's rows are ranked by throughput.
    const within = report.rows.findIndex((r) => r.errors === 0 && r.latencyMs.p99 <= 60);
    expect(report.best).toBe(within === -1 ? null : within);
    expect(report.command).toContain("--latency-budget-ms 60");
    expect(report.command.startsWith("emb perf --target siglip-text")).toBe(true);
  });

  it("a concurrency range: one curve through its levels, the runner's stages", async () => {
    const dir = join(mkdtempSync(join(tmpdir(), "emb-perf-report-")), "report");
    const run = runCli([
      "perf",
      "--target",
      "siglip-text",
      "--model",
      SIGLIP,
      "--concurrency",
      "1:5:2",
      "--chart",
      join(dir, "..", "chart"),
      "--report",
      dir,
      ...fast,
    ]);
    expect(run.status, run.stderr).toBe(0);
    const report = await checkPage(browser, dir);
    expect(report.kind).toBe("range");
    expect(report.rows.map((r) => r.level)).toEqual([1, 3, 5]);
    expect(report.best).not.toBeNull();
    expect(Object.keys(report.rows[0].stages)).toEqual(expect.arrayContaining(["tokenize", "inference", "postprocess"]));
    // In process, the model's arithmetic: GFLOP per item, and each row's GFLOP/s (their digits on the page checked above).
    expect(report.arithmetic?.gflopPerItem).toBeGreaterThan(0);
    expect(report.rows.every((r) => r.gflops !== null && r.gflops > 0)).toBe(true);
  });
});
