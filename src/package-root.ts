/** The emb package's root folder, found from this file whether it runs from src/ or dist/src/. */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!(existsSync(join(dir, "package.json")) && existsSync(join(dir, "models")))) {
    if (dirname(dir) === dir) throw new Error("cannot find the root of the emb package (package.json beside models/)");
    dir = dirname(dir);
  }
  return dir;
}
