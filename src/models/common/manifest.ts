/** Model manifests shipped in models/: the default hub repository of each model the commands run. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "../../package-root.js";

export interface ModelManifest {
  hubId: string;
}

export function readManifest(name: string): ModelManifest {
  return JSON.parse(readFileSync(join(packageRoot(), "models", `${name}.json`), "utf8")) as ModelManifest;
}
