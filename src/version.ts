/** Versions recorded in run.json, so a result can be traced to what produced it. */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { packageRoot } from "./package-root.js";

const require = createRequire(import.meta.url);

function packageVersion(name: string): string {
  try {
    return JSON.parse(readFileSync(require.resolve(`${name}/package.json`), "utf8")).version;
  } catch {
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
