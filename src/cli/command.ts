/** The base of every emb command: errors go through the one map in errors.ts. */
import { Command, type Interfaces } from "@oclif/core";
import { checkOutputFolder } from "../io/directories.js";
import { EXIT, toCliError, UsageError } from "./errors.js";

/** Flags naming a folder the command writes: an empty one would silently mean the current folder. */
const FOLDER_FLAGS = ["out", "draw", "cache-dir"];

export abstract class EmbCommand extends Command {
  /** The --out value, for errors that do not say which file they were writing. */
  private output: string | undefined;

  /**
   * Parses as oclif does, then refuses a folder flag given empty and checks that a folder flag
   * given can be written, so the fix is named before any work (or model load) starts.
   */
  protected override async parse<F extends Record<string, unknown>, B extends Record<string, unknown>, A extends Record<string, unknown>>(
    options?: Interfaces.Input<F, B, A>,
    argv?: string[],
  ): Promise<Interfaces.ParserOutput<F, B, A>> {
    const parsed = await super.parse(options, argv);
    const flags = parsed.flags as Record<string, unknown>;
    if (typeof flags.out === "string") this.output = flags.out;
    const given = new Set(parsed.raw.flatMap((token) => (token.type === "flag" ? [token.flag] : [])));
    for (const name of FOLDER_FLAGS.filter((f) => given.has(f))) {
      const value = flags[name];
      if (typeof value !== "string") continue;
      if (value.trim() === "") {
        const example = options?.flags?.[name]?.default;
        const hint = typeof example === "string" && example !== "" ? `, e.g. --${name} ${example}` : "";
        this.usageError(`--${name} is empty: give a folder name${hint} (an empty one would mean the current folder)`);
      }
      checkOutputFolder(value, `--${name}`);
    }
    return parsed;
  }

  /**
   * Prints the error as one unwrapped line ("Error: ..."), plus its suggestion when it has one,
   * so logs and scripts can grep it; --json prints it as JSON with its code; DEBUG=* adds the stack.
   */
  protected override async catch(error: Error & { exitCode?: number }): Promise<unknown> {
    const mapped = toCliError(error, this.output);
    // oclif exits a --json run with error.exitCode, which a CLIError lacks (so 1), not with the
    // status the error carries and the run without --json exits with.
    process.exitCode = mapped.oclif.exit ?? EXIT.fatal;
    if (!this.jsonEnabled()) {
      this.logToStderr(`Error: ${mapped.message}`);
      for (const suggestion of mapped.suggestions ?? []) this.logToStderr(`Try this: ${suggestion}`);
      if (process.env.DEBUG && error.stack) this.logToStderr(error.stack);
      mapped.skipOclifErrorHandling = true;
    }
    return super.catch(mapped);
  }

  /**
   * Warnings as one unwrapped line on stderr, as errors are printed; also under --json, where
   * oclif's logToStderr is silent but stdout alone carries the document.
   */
  override warn(input: string | Error): string | Error {
    process.stderr.write(`Warning: ${input instanceof Error ? input.message : input}\n`);
    return input;
  }

  /** Stops with a usage error (exit 2) naming what is wrong and how to fix it. */
  protected usageError(message: string): never {
    throw new UsageError(message);
  }
}
