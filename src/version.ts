/** Versions recorded in run.json, so a result can be traced to what produced it. */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { packageRoot } from "./package-root.js";

const require = createRequire(import.meta.url);

function packageVersion(name: string): string {
  try {
    return JSON.parse(readFileSync(require.resolve(`${name}/package.json`), "utf8")).version;
  } catch {
    // A package whose "exports" leave out package.json (sharp's): the one above its entry point.
    try {
      for (let dir = dirname(require.resolve(name)); dir !== dirname(dir); dir = dirname(dir)) {
        const file = join(dir, "package.json");
        if (!existsSync(file)) continue;
        const pkg = JSON.parse(readFileSync(file, "utf8"));
        if (pkg.name === name) return pkg.version;
      }
    } catch {}
    return "unknown";
  }
}

export function versions(): Record<string, string> {
  return {
    emb: ownVersion(),
    node: process.versions.node,
    "onnxruntime-node": packageVersion("onnxruntime-node"),
    sharp: packageVersion("sharp"),
  };
}

function ownVersion(): string {
  return JSON.parse(readFileSync(join(packageRoot(), "package.json"), "utf8")).version;
}
