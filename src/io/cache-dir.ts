/** Where emb keeps what it can rebuild: embedding caches, and the content hashes of model files. */
import { homedir } from "node:os";
import { join } from "node:path";

/** `$EMB_CACHE_DIR`, else `$XDG_CACHE_HOME/emb`, else `~/.cache/emb`. */
export function defaultCacheDir(): string {
  return process.env.EMB_CACHE_DIR || join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "emb");
}
