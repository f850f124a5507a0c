/**
 * Which METEOR paraphrase table `emb coco eval` uses. pycocoevalcap's METEOR runs with the
 * English paraphrase table of METEOR 1.5 (`paraphrase-en.gz`, 62 MB, inside pycocoevalcap's wheel
 * at pycocoevalcap/meteor/data/); emb does not ship it, but uses it wherever it can be found, in
 * this order:
 * 1. `--paraphrase-table FILE`;
 * 2. the environment variable EMB_METEOR_PARAPHRASE (a path);
 * 3. an installed pycocoevalcap's pycocoevalcap/meteor/data/paraphrase-en.gz, looked for without
 *    running Python in $VIRTUAL_ENV, $CONDA_PREFIX, ~/.local, /usr/local and /usr/lib (the usual
 *    site-packages and dist-packages folders), then beside every python3 / python on PATH
 *    (<prefix>/lib/python3.X/site-packages, for the interpreter's path and its real path), and
 *    last by asking python3 where pycocoevalcap is (2 s at most; pyenv shims, unusual layouts);
 * `--no-paraphrase` turns paraphrase matching off.
 */
import { spawnSync } from "node:child_process";
import { readdirSync, realpathSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, dirname, join } from "node:path";

export const PARAPHRASE_ENV = "EMB_METEOR_PARAPHRASE";

/** The table's place inside an installed pycocoevalcap package. */
const IN_PACKAGE = join("pycocoevalcap", "meteor", "data", "paraphrase-en.gz");

export type ParaphraseSource = "--paraphrase-table" | typeof PARAPHRASE_ENV | "pycocoevalcap" | "--no-paraphrase" | "not found";

export interface ParaphraseChoice {
  /** The table to read; null for no paraphrase matching. */
  path: string | null;
  source: ParaphraseSource;
  /** For "not found": how to get one (one line). */
  note?: string;
}

export const NO_TABLE_NOTE =
  "no METEOR paraphrase table found, so METEOR has no paraphrase matches and comes out below pycocoevalcap's: " +
  `pip install pycocoevalcap (its wheel ships pycocoevalcap/meteor/data/paraphrase-en.gz), or set ${PARAPHRASE_ENV} to a paraphrase-en.gz`;

export interface FindOptions {
  /** --paraphrase-table. */
  table?: string;
  /** --no-paraphrase. */
  disabled?: boolean;
  env?: NodeJS.ProcessEnv;
  /** The home folder (~/.local); default os.homedir(). */
  home?: string;
  /** Whether to look in /usr/local/lib and /usr/lib (default true). */
  system?: boolean;
  /** Whether to ask a python3 on PATH as the last resort (default true). */
  askPython?: boolean;
}

/** An error in what the user named (a flag or the environment variable): a usage error. */
export class ParaphraseTableError extends Error {}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** `<prefix>/lib/python3.X/<kind>` folders, newest Python first. */
function pythonLibDirs(prefix: string, kinds: readonly string[]): string[] {
  const lib = join(prefix, "lib");
  let names: string[];
  try {
    names = readdirSync(lib).filter((n) => /^python3(\.\d+)?t?$/.test(n));
  } catch {
    return [];
  }
  const version = (n: string) => Number(/^python3\.(\d+)/.exec(n)?.[1] ?? -1);
  names.sort((a, b) => version(b) - version(a) || (a < b ? -1 : 1));
  return names.flatMap((n) => kinds.map((k) => join(lib, n, k)));
}

/** The interpreters named python3 and python on PATH. */
function pythonsOnPath(env: NodeJS.ProcessEnv): string[] {
  const out: string[] = [];
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    for (const name of ["python3", "python"]) {
      const path = join(dir, name);
      if (isFile(path)) out.push(path);
    }
  }
  return out;
}

/** The site-packages folders to look in, in order, without running Python. */
export function sitePackagesCandidates(options: FindOptions = {}): string[] {
  const env = options.env ?? process.env;
  const home = options.home ?? homedir();
  const dirs: string[] = [];
  const prefixes = (prefix: string | undefined) => {
    if (!prefix) return;
    dirs.push(...pythonLibDirs(prefix, ["site-packages"]));
    if (process.platform === "win32") dirs.push(join(prefix, "Lib", "site-packages"));
  };
  prefixes(env.VIRTUAL_ENV);
  prefixes(env.CONDA_PREFIX);
  dirs.push(...pythonLibDirs(join(home, ".local"), ["site-packages"]));
  if (options.system ?? true) {
    dirs.push(...pythonLibDirs("/usr/local", ["site-packages", "dist-packages"]), "/usr/lib/python3/dist-packages");
  }
  for (const python of pythonsOnPath(env)) {
    // <prefix>/bin/python3: a venv's own prefix, then the real interpreter's.
    prefixes(dirname(dirname(python)));
    try {
      prefixes(dirname(dirname(realpathSync(python))));
    } catch {
      // a dangling link: nothing there
    }
  }
  return [...new Set(dirs)];
}

/** Asks python3 where pycocoevalcap is (2 s at most); undefined on any failure. */
function askPython(env: NodeJS.ProcessEnv): string | undefined {
  const code =
    "import importlib.util as u; s = u.find_spec('pycocoevalcap'); print(s.submodule_search_locations[0] if s and s.submodule_search_locations else '')";
  try {
    const run = spawnSync("python3", ["-c", code], { env, encoding: "utf8", timeout: 2000, stdio: ["ignore", "pipe", "ignore"] });
    const dir = run.status === 0 ? run.stdout.trim() : "";
    return dir ? join(dirname(dir), IN_PACKAGE) : undefined;
  } catch {
    return undefined;
  }
}

/** The paraphrase table of an installed pycocoevalcap, if one is found. */
export function findPycocoevalcapTable(options: FindOptions = {}): string | undefined {
  for (const dir of sitePackagesCandidates(options)) {
    const path = join(dir, IN_PACKAGE);
    if (isFile(path)) return path;
  }
  if (options.askPython ?? true) {
    const path = askPython(options.env ?? process.env);
    if (path !== undefined && isFile(path)) return path;
  }
  return undefined;
}

/** Chooses the table as described at the top; throws ParaphraseTableError for a named file that is not there. */
export function findParaphraseTable(options: FindOptions = {}): ParaphraseChoice {
  const env = options.env ?? process.env;
  if (options.disabled) {
    if (options.table !== undefined) throw new ParaphraseTableError("--paraphrase-table and --no-paraphrase contradict each other; give one");
    return { path: null, source: "--no-paraphrase" };
  }
  if (options.table !== undefined) {
    if (!isFile(options.table)) throw new ParaphraseTableError(`--paraphrase-table ${options.table}: no such file`);
    return { path: options.table, source: "--paraphrase-table" };
  }
  const fromEnv = env[PARAPHRASE_ENV]?.trim();
  if (fromEnv) {
    if (!isFile(fromEnv)) throw new ParaphraseTableError(`${PARAPHRASE_ENV}=${fromEnv}: no such file (unset it, or point it at METEOR's paraphrase-en.gz)`);
    return { path: fromEnv, source: PARAPHRASE_ENV };
  }
  const installed = findPycocoevalcapTable(options);
  if (installed !== undefined) return { path: installed, source: "pycocoevalcap" };
  return { path: null, source: "not found", note: NO_TABLE_NOTE };
}

/** One line for the report: which table METEOR used, or why none. */
export function describeParaphraseChoice(choice: ParaphraseChoice): string {
  if (choice.path !== null) return `METEOR paraphrase table: ${choice.path} (from ${choice.source})`;
  if (choice.source === "--no-paraphrase") return "METEOR paraphrase matching is off (--no-paraphrase)";
  return choice.note ?? NO_TABLE_NOTE;
}
