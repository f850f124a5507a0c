/**
 * The search page of `emb serve --index` in a real headless Chromium: it loads with no console
 * error, a query typed into its box shows the results the API gives in the same order with every
 * thumbnail decoded, an uploaded image and a row number search too, and a server with a token asks
 * for it before searching. With UPDATE_SCREENSHOTS=1 docs/images/serve-search-page.png is written.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromiumPath, launchBrowser } from "../helpers/browser.js";
import { runCli } from "../helpers/cli.js";
import { fixturePath } from "../helpers/fixtures.js";
import { type RunningServer, startServe } from "../helpers/serve.js";

const browserFound = chromiumPath();
const screenshots = process.env.UPDATE_SCREENSHOTS === "1" ? resolve("docs", "images") : undefined;

/** The page's result grid once `count` results are in and every thumbnail has loaded. */
async function shownResults(page: Page, count: number) {
  await page.waitForFunction((n) => document.querySelectorAll("#results figure img").length === n, count);
  await page.waitForFunction(() =>
    Array.from(document.querySelectorAll<HTMLImageElement>("#results img")).every((img) => img.complete && img.naturalWidth > 0),
  );
  return page.$$eval("#results figure", (all) => all.map((f) => ({ row: Number((f as HTMLElement).dataset.row), path: (f as HTMLElement).dataset.path })));
}

async function api(server: RunningServer, body: unknown, token?: string) {
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(`${server.url}/v1/search`, { method: "POST", headers, body: JSON.stringify(body) });
  return ((await res.json()) as { results: { row: number; path: string }[] }).results.map(({ row, path }) => ({ row, path }));
}

describe.skipIf(!browserFound)("emb serve --index: the search page in a browser", () => {
  let browser: Browser;
  let server: RunningServer;
  beforeAll(async () => {
    browser = await launchBrowser();
    const folder = join(mkdtempSync(join(tmpdir(), "emb-serve-page-")), "emb");
    // paths relative to the repository, where the server runs, as a user's own folder would be
    const run = runCli(["embed", "image", "test/fixtures/images", "--model", "test/fixtures/siglip-tiny", "--out", folder, "--no-progress"]);
    expect(run.status, run.stderr).toBe(0);
    server = await startServe(["--index", folder, "--no-grpc"], { EMB_SERVE_TOKEN: "page-token" });
  });
  afterAll(async () => {
    await server?.stop();
    await browser?.close();
  });

  it("asks for the token, then a typed query, an uploaded image and a row each show the API's results", async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
    const errors: string[] = [];
    page.on("console", (m) => {
      // the first call is refused until the token is given: that 401 is the page working
      if (m.type() === "error" && !m.text().includes("401")) errors.push(m.text());
    });
    page.on("pageerror", (e) => errors.push(e.message));
    try {
      await page.goto(`${server.url}/search`);
      await page.waitForSelector("#auth:not([hidden])");
      await page.fill("#token", "page-token");
      await page.click("#auth button");
      await page.waitForFunction(() => document.getElementById("about")!.textContent!.includes("15 images"));
      expect(await page.isHidden("#auth")).toBe(true);

      await page.fill("#k", "8");
      await page.fill("#text", "a photo of a street at night");
      await page.press("#text", "Enter");
      expect(await shownResults(page, 8)).toEqual(await api(server, { text: "a photo of a street at night", k: 8 }, "page-token"));
      expect(await page.textContent("#query")).toBe("text: a photo of a street at night");
      if (screenshots) await page.screenshot({ path: join(screenshots, "serve-search-page.png"), fullPage: true });

      await page.setInputFiles("#image", fixturePath("images", "portrait_375x500.jpg"));
      await page.waitForFunction(() => document.getElementById("query")!.textContent === "image: portrait_375x500.jpg");
      const byImage = await shownResults(page, 8);
      expect(byImage[0].path).toBe("test/fixtures/images/portrait_375x500.jpg");

      await page.fill("#row", "4");
      await page.click("#row-form button");
      await page.waitForFunction(() => document.getElementById("query")!.textContent === "row 4");
      expect(await shownResults(page, 8)).toEqual(await api(server, { row: 4, k: 8 }, "page-token"));
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
