/**
 * `emb serve --index`: the folder searched over HTTP answers as `emb search` does on the same
 * folder (text, uploaded image and row queries: same paths, same scores), beside the Triton
 * endpoints or alone; its refusals are 4xx answers naming the fix, and the token guards it.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { fixturePath } from "../helpers/fixtures.js";
import { type RunningServer, SIGLIP, startServe } from "../helpers/serve.js";

const tmp = (name: string) => mkdtempSync(join(tmpdir(), `emb-serve-search-${name}-`));

function cliSearch(folder: string, args: string[]) {
  const run = runCli(["search", folder, ...args, "--json"]);
  expect(run.status, run.stderr).toBe(0);
  return JSON.parse(run.stdout).results[0].results as { rank: number; row: number; path: string; score: number }[];
}

async function post(server: RunningServer, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${server.url}/v1/search`, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

describe("emb serve --index", () => {
  let folder: string;
  let server: RunningServer;
  beforeAll(async () => {
    folder = join(tmp("folder"), "emb");
    const run = runCli(["embed", "image", fixturePath("images"), "--model", SIGLIP, "--out", folder, "--no-progress"]);
    expect(run.status, run.stderr).toBe(0);
    // beside the Triton endpoints, as a deployment would run it
    server = await startServe(["--model", `siglip=${SIGLIP}`, "--index", folder, "--no-grpc"]);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("says what it holds and which queries it takes", async () => {
    const info = await (await fetch(`${server.url}/v1/search/info`)).json();
    expect(info).toMatchObject({ folder, rows: 15, dim: 32, queries: ["text", "image", "row"] });
    expect(server.stderr()).toContain(`page ${server.url}/search`);
    // the Triton endpoints are still there
    expect((await fetch(`${server.url}/v2/models/siglip_text`)).status).toBe(200);
  });

  it("text, image and row queries give emb search's results on the same folder", async () => {
    const text = await post(server, { text: "a photo of a landscape", k: 5 });
    expect(text.status).toBe(200);
    const expected = cliSearch(folder, ["--text", "a photo of a landscape", "-k", "5"]);
    expect(text.json.results.map((h: { path: string }) => h.path)).toEqual(expected.map((h) => h.path));
    text.json.results.forEach((h: { score: number }, i: number) => expect(h.score).toBeCloseTo(expected[i].score, 6));

    const photo = fixturePath("images", "portrait_375x500.jpg");
    const image = await post(server, { image: `data:image/jpeg;base64,${readFileSync(photo).toString("base64")}`, k: 4 });
    expect(image.status).toBe(200);
    expect(image.json.results).toEqual(cliSearch(folder, ["--image", photo, "-k", "4"]).map((h) => ({ ...h, score: expect.closeTo(h.score, 6) })));

    const row = await post(server, { row: 7 });
    expect(row.json.results).toHaveLength(10);
    expect(row.json.results[0]).toMatchObject({ rank: 1, row: 7 });
    expect(row.json.results.map((h: { path: string }) => h.path)).toEqual(cliSearch(folder, ["--row", "7"]).map((h) => h.path));
  });

  it("serves each result's thumbnail by row, and the search page", async () => {
    const thumb = await fetch(`${server.url}/v1/search/thumbnail/0`);
    expect(thumb.status).toBe(200);
    expect(thumb.headers.get("content-type")).toBe("image/jpeg");
    expect([...new Uint8Array(await thumb.arrayBuffer()).slice(0, 3)]).toEqual([0xff, 0xd8, 0xff]);
    const page = await fetch(`${server.url}/search`);
    expect(page.headers.get("content-type")).toContain("text/html");
    expect(await page.text()).toContain('id="results"');
  });

  it("answers bad requests with a 4xx naming the fix, and keeps serving", async () => {
    expect(await post(server, { text: "x", row: 1 })).toMatchObject({
      status: 400,
      json: { error: 'give exactly one of "text", "image" (base64) or "row", not text and row' },
    });
    expect((await post(server, { text: "x", k: 0 })).json.error).toBe('"k" must be a whole number from 1 to 1000, not 0');
    expect(await post(server, { row: 99 })).toMatchObject({ status: 404, json: { error: "row 99: the index has rows 0 to 14" } });
    expect((await post(server, { image: Buffer.from("not an image").toString("base64") })).json.error).toMatch(/^the uploaded image cannot be decoded/);
    expect((await post(server, { row: "3" })).status).toBe(400);
    expect((await fetch(`${server.url}/v1/search`)).status).toBe(405);
    expect((await fetch(`${server.url}/v1/search/thumbnail/99`)).status).toBe(404);
    expect((await post(server, { row: 1, k: 2 })).status).toBe(200);
  });

  it("alone: search only, guarded by the token; an image-only model's folder refuses text", async () => {
    const dino = join(tmp("dino"), "emb");
    expect(runCli(["embed", "image", fixturePath("images"), "--model", fixturePath("dinov2-tiny"), "--out", dino, "--no-progress"]).status).toBe(0);
    const alone = await startServe(["--index", dino, "--no-grpc"], { EMB_SERVE_TOKEN: "s3cret" });
    try {
      expect(alone.stderr()).toContain("(models: none)");
      expect((await post(alone, { row: 0 })).status).toBe(401);
      const auth = { Authorization: "Bearer s3cret" };
      const info = await (await fetch(`${alone.url}/v1/search/info`, { headers: auth })).json();
      expect(info.queries).toEqual(["image", "row"]);
      const text = await post(alone, { text: "a dog" }, auth);
      expect(text.status).toBe(400);
      expect(text.json.error).toBe("this index cannot take text queries (its model has no text tower); it takes image, row");
      expect((await post(alone, { row: 0, k: 3 }, auth)).json.results).toHaveLength(3);
      // the page itself holds no data and loads without the token
      expect((await fetch(`${alone.url}/search`)).status).toBe(200);
      expect((await fetch(`${alone.url}/v2/models/siglip_text`, { headers: auth })).status).toBe(404);
    } finally {
      await alone.stop();
    }
  });
});
