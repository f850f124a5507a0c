/** Versions recorded in run.json, so a result can be traced to what produced it. */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

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

/** This package's version: the nearest package.json above this file (source or built). */
function ownVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json")) && dirname(dir) !== dir) dir = dirname(dir);
  return JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).version;
}
