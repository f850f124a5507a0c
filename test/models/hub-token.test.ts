/**
 * The hub token as huggingface_hub's get_token() finds it (HF_TOKEN, HUGGING_FACE_HUB_TOKEN, the
 * file at HF_TOKEN_PATH, else $HF_HOME/token as `hf auth login` writes it), and a gated repository
 * of the stand-in hub downloaded with it.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { hfHome, hubToken, resolveModel } from "../../src/models/common/hub.js";
import { runCliAsync } from "../helpers/cli.js";
import { startFakeHub, type FakeHub } from "../helpers/fake-hub.js";
import { fixturePath } from "../helpers/fixtures.js";

const COMMIT = "0123456789abcdef0123456789abcdef01234567";
const GATED = "test-org/siglip-gated";
const TOKEN = "hf_testtoken0123456789";
const pick = (files: string[]) => files.filter((f) => f === "config.json" || f === "onnx/vision_model.onnx");
const tmp = (name: string) => mkdtempSync(join(tmpdir(), `emb-hf-${name}-`));

/** A fresh HF_HOME holding `token` (as `hf auth login` writes it: the token, no newline) when given. */
function hfHomeWith(token?: string): string {
  const home = tmp("home");
  if (token !== undefined) writeFileSync(join(home, "token"), token);
  return home;
}

describe("hubToken follows huggingface_hub's order", () => {
  it("HF_TOKEN, then HUGGING_FACE_HUB_TOKEN, then HF_TOKEN_PATH, then $HF_HOME/token; trimmed, empty is none", () => {
    const home = hfHomeWith(" hf_fromhome\n");
    const pathFile = join(tmp("path"), "my-token");
    writeFileSync(pathFile, "hf_frompath\r\n");
    expect(hubToken({ HF_TOKEN: " hf_env \n", HUGGING_FACE_HUB_TOKEN: "hf_old", HF_TOKEN_PATH: pathFile, HF_HOME: home })).toEqual({
      token: "hf_env",
      source: "HF_TOKEN",
    });
    expect(hubToken({ HF_TOKEN: "", HUGGING_FACE_HUB_TOKEN: "hf_old", HF_HOME: home })).toEqual({ token: "hf_old", source: "HUGGING_FACE_HUB_TOKEN" });
    // A blank HF_TOKEN is no token: the file is read.
    expect(hubToken({ HF_TOKEN: "  ", HF_TOKEN_PATH: pathFile, HF_HOME: home })).toEqual({ token: "hf_frompath", source: "HF_TOKEN_PATH", path: pathFile });
    expect(hubToken({ HF_HOME: home })).toEqual({ token: "hf_fromhome", source: "HF_HOME/token", path: join(home, "token") });
    // HF_TOKEN_PATH replaces $HF_HOME/token, even when it names no file.
    expect(hubToken({ HF_TOKEN_PATH: join(home, "absent"), HF_HOME: home })).toBeUndefined();
    expect(hubToken({ HF_HOME: hfHomeWith(" \n") })).toBeUndefined();
    expect(hubToken({ HF_HOME: hfHomeWith() })).toBeUndefined();
  });

  it("HF_HOME defaults to $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface", () => {
    const xdg = tmp("xdg");
    mkdirSync(join(xdg, "huggingface"));
    writeFileSync(join(xdg, "huggingface", "token"), "hf_xdg\n");
    expect(hfHome({ XDG_CACHE_HOME: xdg })).toBe(join(xdg, "huggingface"));
    expect(hubToken({ XDG_CACHE_HOME: xdg })).toMatchObject({ token: "hf_xdg", source: "HF_HOME/token" });
    expect(hfHome({})).toBe(join(homedir(), ".cache", "huggingface"));
    expect(hfHome({ HF_HOME: "~/hf" })).toBe(join(homedir(), "hf"));
  });

  it("a token file that cannot be read is an error naming it", () => {
    const dir = tmp("dir");
    expect(() => hubToken({ HF_TOKEN_PATH: dir })).toThrow(`cannot read the Hugging Face token file ${dir}`);
  });
});

describe("a gated repository on the stand-in hub", () => {
  let hub: FakeHub;
  const saved: Record<string, string | undefined> = {};
  const VARS = ["HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH", "HF_HOME", "XDG_CACHE_HOME"];
  beforeAll(async () => {
    hub = await startFakeHub({ [GATED]: { dir: fixturePath("siglip-tiny"), commit: COMMIT, token: TOKEN } });
    for (const v of VARS) saved[v] = process.env[v];
  });
  afterEach(() => {
    for (const v of VARS) {
      if (saved[v] === undefined) delete process.env[v];
      else process.env[v] = saved[v];
    }
  });
  afterAll(() => hub.close());

  const setEnv = (vars: Record<string, string>) => {
    for (const v of VARS) delete process.env[v];
    Object.assign(process.env, vars);
  };

  it("downloads with the token from $HF_HOME/token, and from HF_TOKEN_PATH", async () => {
    setEnv({ HF_HOME: hfHomeWith(`${TOKEN}\n`) });
    const model = await resolveModel(GATED, pick, { endpoint: hub.url, cacheDir: tmp("cache"), offline: false });
    expect(model).toMatchObject({ source: "hub", commit: COMMIT });
    const file = join(tmp("path"), "token");
    writeFileSync(file, TOKEN);
    setEnv({ HF_HOME: hfHomeWith(), HF_TOKEN_PATH: file });
    await expect(resolveModel(GATED, pick, { endpoint: hub.url, cacheDir: tmp("cache"), offline: false })).resolves.toMatchObject({ source: "hub" });
  });

  it("without a token, or with a refused one, fails saying it needs one and how to give it", async () => {
    setEnv({ HF_HOME: hfHomeWith() });
    await expect(resolveModel(GATED, pick, { endpoint: hub.url, cacheDir: tmp("cache"), offline: false })).rejects.toThrow(
      /^model test-org\/siglip-gated at http:\S+ needs a Hugging Face token with access to it \(HTTP 401.*\): no token was found; .*HF_TOKEN.*hf auth login/,
    );
    setEnv({ HF_HOME: hfHomeWith("hf_wrong") });
    await expect(resolveModel(GATED, pick, { endpoint: hub.url, cacheDir: tmp("cache"), offline: false })).rejects.toThrow(
      /needs a Hugging Face token with access to it \(HTTP 401.*\): the token from .*token was refused/,
    );
  });

  it("emb embed image: a gated repository downloads with `hf auth login`'s token file, and fails clearly without", async () => {
    const image = fixturePath("images", "small_64x48.jpg");
    const args = ["embed", "image", image, "--model", GATED, "--no-progress"];
    const env = (home: string) => ({ HF_ENDPOINT: hub.url, HF_HOME: home, HF_TOKEN: "", HUGGING_FACE_HUB_TOKEN: "", HF_TOKEN_PATH: "" });
    const ok = await runCliAsync([...args, "--out", join(tmp("out"), "ok"), "--json"], env(hfHomeWith(`${TOKEN}\n`)));
    expect(ok.status, ok.stdout + ok.stderr).toBe(0);
    const refused = await runCliAsync([...args, "--out", join(tmp("out"), "no")], env(hfHomeWith()));
    expect(refused.status, refused.stdout + refused.stderr).toBe(1);
    expect(refused.stderr).toContain(`model ${GATED} at ${hub.url} needs a Hugging Face token with access to it (HTTP 401`);
    expect(refused.stderr).toContain("hf auth login");
  });
});
