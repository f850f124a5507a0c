/** Full and read-only disks in tests are small tmpfs mounts, which need the right to mount (root on Linux). */
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Whether this process may mount a tmpfs: tests that need one are skipped where it may not. */
export function canMountTmpfs(): boolean {
  if (process.platform !== "linux") return false;
  const probe = mkdtempSync(join(tmpdir(), "emb-mount-"));
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=16k", "tmpfs", probe], { stdio: "ignore" });
    execFileSync("umount", [probe], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
