/**
 * No dependency spec in the project's lock trees can move under the lock (the failure that broke
 * every fresh `npm ci` when tar's "latest" became a version for a newer Node).
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { floatingReason, floatingSpecs, floatingSpecsInFile, PROJECT_LOCKFILES } from "../../tools/lockfile/floating-specs.js";

describe("floating dependency specs", () => {
  it.each(PROJECT_LOCKFILES)("%s has none", (file) => {
    expect(floatingSpecsInFile(file)).toEqual([]);
  });

  it('a planted "latest" in the real lock tree is found and named', () => {
    const lock = JSON.parse(readFileSync("package-lock.json", "utf8")) as { packages: Record<string, { dependencies?: Record<string, string> }> };
    lock.packages["node_modules/tar-stream"].dependencies = { ...lock.packages["node_modules/tar-stream"].dependencies, streamx: "latest" };
    expect(floatingSpecs(lock)).toEqual([{ from: "node_modules/tar-stream", name: "streamx", spec: "latest", why: "a dist-tag the registry can move" }]);
    // An exact override pins it; a range override does not.
    expect(floatingSpecs(lock, { streamx: "2.23.0" })).toEqual([]);
    expect(floatingSpecs(lock, { streamx: "^2.23.0" })).toHaveLength(1);
  });

  it('"*" counts in the project\'s own manifest only', () => {
    const lock = { packages: { "": { devDependencies: { vitest: "*" } }, "node_modules/@types/x": { peerDependencies: { "@types/node": "*" } } } };
    expect(floatingSpecs(lock).map((f) => f.from)).toEqual(["(this project)"]);
  });

  it("tells tags, branches and open specs from pinned ones", () => {
    for (const spec of ["latest", "next", "beta", "npm:tar@latest", "github:isaacs/node-tar", "git+https://example.org/a/b.git#main", "user/repo"]) {
      expect(floatingReason(spec), spec).not.toBeNull();
    }
    for (const spec of [
      "7.5.23",
      "^7.5.2",
      "~1.2",
      ">=1 <2",
      "1.x",
      "npm:tar@7.5.23",
      "file:../x",
      "git+https://example.org/a/b.git#0123456789abcdef0123456789abcdef01234567",
      "https://example.org/a.tgz",
    ]) {
      expect(floatingReason(spec), spec).toBeNull();
    }
  });
});
