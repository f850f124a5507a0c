/**
 * A real headless Chromium for the page tests, driven by playwright-core: the browser from the
 * system's packages (Debian's `chromium`; .ci/run installs it), or $CHROMIUM_PATH. Without one the
 * page tests are skipped locally with a line saying why, and fail under CI.
 */
import { existsSync } from "node:fs";
import { chromium, type Browser, type Page } from "playwright-core";

const CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome", "/usr/bin/google-chrome-stable"];

export function chromiumPath(): string | undefined {
  const wanted = process.env.CHROMIUM_PATH;
  if (wanted) return wanted;
  const found = CANDIDATES.find((p) => existsSync(p));
  if (!found && process.env.CI) throw new Error("no Chromium for the page tests: install Debian's chromium package (.ci/run does) or set CHROMIUM_PATH");
  return found;
}

export async function launchBrowser(): Promise<Browser> {
  // --no-sandbox: CI containers run as root, where Chromium's sandbox refuses to start
  return chromium.launch({ executablePath: chromiumPath(), args: ["--no-sandbox"] });
}

export interface OpenedPage {
  page: Page;
  /** Console errors and uncaught exceptions seen while the page loaded. */
  errors: string[];
}

/** Opens a file in a new page and waits until it and its images have loaded. */
export async function openFile(browser: Browser, file: string, viewport = { width: 1200, height: 900 }): Promise<OpenedPage> {
  const page = await browser.newPage({ viewport });
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`file://${file}`, { waitUntil: "load" });
  // lazy images below the fold load only when scrolled to: bring each into view
  await page.evaluate(async () => {
    for (const img of Array.from(document.images)) {
      img.loading = "eager";
      if (img.complete) continue;
      await new Promise((done) => {
        img.addEventListener("load", done, { once: true });
        img.addEventListener("error", done, { once: true });
      });
    }
  });
  return { page, errors };
}

/** Every <img> of the page: whether it decoded, and its decoded size. */
export function imageStates(page: Page): Promise<{ alt: string; complete: boolean; width: number; height: number }[]> {
  return page.$$eval("img", (imgs) => imgs.map((img) => ({ alt: img.alt, complete: img.complete, width: img.naturalWidth, height: img.naturalHeight })));
}
