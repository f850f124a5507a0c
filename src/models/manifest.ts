/** Model manifests shipped in models/: hub ids and the facts about a model that code relies on. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "../package-root.js";

export interface ModelManifest {
  name: string;
  family: string;
  hubId: string;
  embeddingDim?: number;
  [key: string]: unknown;
}

export function readManifest(name: string): ModelManifest {
  return JSON.parse(readFileSync(join(packageRoot(), "models", `${name}.json`), "utf8")) as ModelManifest;
}
