/**
 * Finds dependency specs in npm lockfiles that the registry can move under the lock: dist-tags
 * ("latest", "next") and git references without a commit, anywhere in the tree, and "*" in the
 * project's own package.json. A package that asks for a tag makes `npm ci` fail the day the tag
 * moves (the lock's version no longer "satisfies" it), so none may enter a lock tree unless an
 * `overrides` entry in the package.json beside the lock pins that dependency to an exact version.
 * A "*" deep in the tree (common in @types and optional peers) is satisfied by whatever version
 * the lock holds, so it cannot break `npm ci`; in our own manifest it would still hide what we
 * depend on.
 *
 *   npx tsx tools/lockfile/floating-specs.ts [package-lock.json ...]   (exit 1 when any is found)
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import semver from "semver";

export interface FloatingSpec {
  /** The lock entry that asks for it ("" is the project itself). */
  from: string;
  name: string;
  spec: string;
  why: string;
}

interface LockEntry {
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

const ANY = "matches any version";
const GIT = /^(git\+|git:|github:|gitlab:|bitbucket:|gist:)|^[\w.-]+\/[\w.-]+(#.*)?$/;
const COMMIT = /#[0-9a-f]{40}$/i;

/** Why `spec` can resolve differently tomorrow, or null when it cannot float. */
export function floatingReason(spec: string): string | null {
  const s = spec.trim();
  if (s === "" || s === "*" || s.toLowerCase() === "x") return ANY;
  if (s.startsWith("npm:")) {
    const at = s.lastIndexOf("@");
    return at > 4 ? floatingReason(s.slice(at + 1)) : "an alias without a version";
  }
  if (/^(file|link|workspace):/.test(s)) return null;
  if (GIT.test(s)) return COMMIT.test(s) ? null : "a git reference without a commit hash";
  if (/^https?:/.test(s)) return null;
  if (semver.validRange(s) === null) return `a dist-tag the registry can move`;
  return null;
}

/** Every floating spec in a lockfile (npm lockfileVersion 2 or 3), less those `overrides` pins exactly. */
export function floatingSpecs(lock: { packages?: Record<string, LockEntry> }, overrides: Record<string, unknown> = {}): FloatingSpec[] {
  const found: FloatingSpec[] = [];
  for (const [from, entry] of Object.entries(lock.packages ?? {})) {
    for (const field of ["dependencies", "devDependencies", "optionalDependencies", "peerDependencies"] as const) {
      for (const [name, spec] of Object.entries(entry[field] ?? {})) {
        const why = floatingReason(spec);
        if (why === ANY && from !== "") continue;
        const pinned = overrides[name];
        if (why !== null && !(typeof pinned === "string" && semver.valid(pinned) !== null)) found.push({ from: from || "(this project)", name, spec, why });
      }
    }
  }
  return found;
}

/** Checks the lockfile at `path` against the overrides of the package.json beside it. */
export function floatingSpecsInFile(path: string): FloatingSpec[] {
  const manifest = JSON.parse(readFileSync(join(dirname(path), "package.json"), "utf8")) as { overrides?: Record<string, unknown> };
  return floatingSpecs(JSON.parse(readFileSync(path, "utf8")), manifest.overrides);
}

/** The project's lockfiles: the root install's and each tool's own. */
export const PROJECT_LOCKFILES = ["package-lock.json", "tools/meteor/package-lock.json"];

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
  const files = process.argv.length > 2 ? process.argv.slice(2) : PROJECT_LOCKFILES.map((f) => join(root, f));
  let bad = 0;
  for (const file of files) {
    for (const f of floatingSpecsInFile(file)) {
      bad++;
      console.error(`${file}: ${f.from} asks for ${f.name}@"${f.spec}", ${f.why}; pin it with an exact version in "overrides"`);
    }
  }
  process.exit(bad > 0 ? 1 : 0);
}
