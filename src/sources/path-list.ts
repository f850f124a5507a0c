/**
 * `--files-from FILE|-`: input paths, one per line, as `find` prints them. Blank lines and a
 * trailing CR (a list written on Windows) are ignored; relative paths are relative to the current
 * folder. A file is read line by line on each pass (the walk counts, then runs), so a list of
 * millions of paths is never held whole; standard input and a pipe (`--files-from <(find ...)`)
 * can be read only once, so they are kept.
 */
import { createReadStream, statSync, type Stats } from "node:fs";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { InputError } from "./text.js";

export class PathList {
  private constructor(
    /** The list as given: a file name, or "-" for standard input. */
    readonly name: string,
    private readonly held?: string[],
  ) {}

  /** Opens a list file (checked now: a missing list is a usage error), or reads standard input whole. */
  static async open(name: string, stdin: Readable = process.stdin): Promise<PathList> {
    if (name === "-") return new PathList(name, await heldLines(stdin));
    let info: Stats;
    try {
      info = statSync(name);
    } catch {
      throw new InputError(
        `--files-from ${name}: no such file; give a file of paths, one per line (find ./photos -name '*.jpg' > list.txt), or - for standard input`,
      );
    }
    if (info.isDirectory()) throw new InputError(`--files-from ${name}: is a folder, not a file of paths; give the folder itself as an input instead`);
    if (!info.isFile()) return new PathList(name, await heldLines(createReadStream(name)));
    return new PathList(name);
  }

  /** The paths, in list order. */
  async *paths(): AsyncGenerator<string> {
    if (this.held) yield* this.held;
    else yield* pathLines(createReadStream(this.name));
  }
}

async function heldLines(stream: Readable): Promise<string[]> {
  const held: string[] = [];
  for await (const path of pathLines(stream)) held.push(path);
  return held;
}

async function* pathLines(stream: Readable): AsyncGenerator<string> {
  let first = true;
  for await (const line of createInterface({ input: stream, crlfDelay: Infinity })) {
    // A list saved by a Windows editor may start with a byte-order mark, which no path has.
    const path = (first ? line.replace(/^\ufeff/, "") : line).replace(/\r$/, "");
    first = false;
    if (path.trim() !== "") yield path;
  }
}
