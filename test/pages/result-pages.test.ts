/**
 * The pages people look at, opened in a real headless Chromium: `emb search --html` and
 * `emb dedup --html` load with no console error, every thumbnail decodes (photos from phones and
 * print shops included: EXIF-rotated, CMYK with black ink, 16-bit, transparent), the order on the
 * page is the order of the --json output, and text from the user is shown as text. With
 * UPDATE_SCREENSHOTS=1 the screenshots in docs/images/ are written again.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import sharp from "sharp";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromiumPath, imageStates, launchBrowser, openFile } from "../helpers/browser.js";
import { runCli } from "../helpers/cli.js";
import { fixturePath } from "../helpers/fixtures.js";

const browserFound = chromiumPath();
if (!browserFound) console.warn("page tests skipped: no Chromium found (install Debian's chromium or set CHROMIUM_PATH)");

const tmp = (name: string) => mkdtempSync(join(tmpdir(), `emb-pages-${name}-`));
const model = fixturePath("siglip-tiny");
const screenshots = process.env.UPDATE_SCREENSHOTS === "1" ? resolve("docs", "images") : undefined;

/** What users bring: camera and phone photos, print-shop CMYK with black ink, 16-bit, alpha, and planted copies. */
const PHOTOS: [string, string][] = [
  ["images/photo_500x375.jpg", "street.jpg"],
  ["images/portrait_375x500.jpg", "portrait.jpg"],
  ["images/large_1280x720.jpg", "hills.jpg"],
  ["images/gray16_200x150.png", "scan-16bit.png"],
  ["images/alpha_300x200.png", "logo.png"],
  ["photos/cmyk_k_adobe.jpg", "print-cmyk.jpg"],
  ["photos/exif_orientation_6.jpg", "phone-rotated.jpg"],
  ["images/palette_200x200.gif", "palette.gif"],
];

/** Runs emb where the photos' folder is, so the pages show the short relative paths users see. */
function cli(args: string[], cwd: string) {
  const run = runCli(args, {}, { cwd });
  expect(run.status, run.stderr).toBe(0);
  return run;
}

describe.skipIf(!browserFound)("result pages in a browser", () => {
  let browser: Browser;
  let root: string;
  let data: string;
  beforeAll(async () => {
    browser = await launchBrowser();
    root = tmp("data");
    data = join(root, "photos");
    mkdirSync(data);
    for (const [from, to] of PHOTOS) copyFileSync(fixturePath(from), join(data, to));
    // planted duplicates: a byte copy, a half-size re-encode
    copyFileSync(join(data, "street.jpg"), join(data, "street-copy.jpg"));
    await sharp(join(data, "hills.jpg")).resize(640).jpeg({ quality: 70 }).toFile(join(data, "hills-small.jpg"));
    cli(["embed", "image", "photos", "--model", model, "--out", "emb", "--no-progress"], root);
  });
  afterAll(async () => {
    await browser?.close();
  });

  it("emb search --html: every query's results in the --json order, thumbnails decoded, query text shown as typed", async () => {
    const page = join(tmp("search"), "results.html");
    const text = 'a <b>bold</b> "quote" & more';
    const run = cli(["search", "emb", "--text", text, "--image", "photos/phone-rotated.jpg", "--row", "0", "-k", "6", "--html", page, "--json"], root);
    const json = JSON.parse(run.stdout);
    const { page: tab, errors } = await openFile(browser, page);
    try {
      expect(errors).toEqual([]);
      const images = await imageStates(tab);
      expect(images.length).toBe(3 * 6 + 2); // results, plus the image and row queries' own pictures
      for (const img of images) expect(img.complete && img.width > 0 && img.height > 0, img.alt).toBe(true);
      const sections = await tab.$$eval("section.results", (all) =>
        all.map((s) => ({
          heading: s.querySelector("h2")!.textContent,
          bold: s.querySelector("h2 b") !== null,
          paths: Array.from(s.querySelectorAll("figure"), (f) => f.dataset.path),
          scores: Array.from(s.querySelectorAll("figure .score"), (e) => e.textContent),
        })),
      );
      expect(sections.map((s) => s.paths)).toEqual(json.results.map((r: { results: { path: string }[] }) => r.results.map((h) => h.path)));
      expect(sections.map((s) => s.scores)).toEqual(
        json.results.map((r: { results: { rank: number; score: number }[] }) => r.results.map((h) => `#${h.rank} · ${h.score.toFixed(4)}`)),
      );
      expect(sections[0]).toMatchObject({ heading: `text "${text}"`, bold: false });
      // the page carries the same document as --json
      expect(JSON.parse((await tab.textContent("#emb-data"))!)).toEqual(json);
      // the phone photo (EXIF orientation 6) is shown upright: portrait, as its pixels are landscape
      const rotated = await tab.$eval(`section[data-query="1"] .query img`, (img) => [
        (img as HTMLImageElement).naturalWidth,
        (img as HTMLImageElement).naturalHeight,
      ]);
      const stored = await sharp(join(data, "phone-rotated.jpg")).metadata();
      expect(stored.width! > stored.height!).toBe(true);
      expect(rotated[1]).toBeGreaterThan(rotated[0]);
      if (screenshots) await tab.screenshot({ path: join(screenshots, "search-page.png"), fullPage: true });
    } finally {
      await tab.close();
    }
  });

  it("emb dedup --html: one section per group in the --json order, the kept file first, a file gone since embedding shown as such", async () => {
    const page = join(tmp("dedup"), "groups.html");
    const run = cli(["dedup", "emb", "--threshold", "0.97", "--html", page, "--json", "--no-progress"], root);
    const json = JSON.parse(run.stdout);
    expect(json.groups.length).toBeGreaterThan(0);
    const { page: tab, errors } = await openFile(browser, page);
    try {
      expect(errors).toEqual([]);
      for (const img of await imageStates(tab)) expect(img.complete && img.width > 0, img.alt).toBe(true);
      const groups = await tab.$$eval("section.group", (all) =>
        all.map((s) => ({
          group: Number(s.getAttribute("data-group")),
          paths: Array.from(s.querySelectorAll("figure"), (f) => f.dataset.path),
          tags: Array.from(s.querySelectorAll("figure .tag"), (e) => e.textContent),
        })),
      );
      expect(groups.map((g) => g.group)).toEqual(json.groups.map((g: { group: number }) => g.group));
      expect(groups.map((g) => g.paths)).toEqual(json.groups.map((g: { members: { path: string }[] }) => g.members.map((m) => m.path)));
      for (const g of groups) expect(g.tags).toEqual(["keep", ...g.tags.slice(1).map(() => "drop")]);
      if (screenshots) await tab.screenshot({ path: join(screenshots, "dedup-page.png"), fullPage: true });
    } finally {
      await tab.close();
    }
    // the same report after the dropped copy was deleted: the page still loads, naming the missing file
    const dropped = json.groups[0].drop[0] as string;
    const saved = readFileSync(join(root, dropped));
    rmSync(join(root, dropped));
    try {
      const again = join(tmp("dedup"), "groups.html");
      cli(["dedup", "emb", "--threshold", "0.97", "--html", again, "--no-progress"], root);
      const { page: tab2, errors: errors2 } = await openFile(browser, again);
      expect(errors2).toEqual([]);
      const missing = await tab2.$$eval(".missing", (all) => all.map((m) => m.closest("figure")!.dataset.path));
      expect(missing).toEqual([dropped]);
      await tab2.close();
    } finally {
      writeFileSync(join(root, dropped), saved);
    }
  });
});
