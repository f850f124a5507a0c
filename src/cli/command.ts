/** The base of every emb command: errors go through the one map in errors.ts. */
import { Command } from "@oclif/core";
import { EXIT, toCliError, UsageError } from "./errors.js";

export abstract class EmbCommand extends Command {
  /**
   * Prints the error as one unwrapped line ("Error: ..."), plus its suggestion when it has one,
   * so logs and scripts can grep it; --json prints it as JSON with its code; DEBUG=* adds the stack.
   */
  protected override async catch(error: Error & { exitCode?: number }): Promise<unknown> {
    const mapped = toCliError(error);
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

  /** Warnings as one unwrapped line on stderr, as errors are printed. */
  override warn(input: string | Error): string | Error {
    this.logToStderr(`Warning: ${input instanceof Error ? input.message : input}`);
    return input;
  }

  /** Stops with a usage error (exit 2) naming what is wrong and how to fix it. */
  protected usageError(message: string): never {
    throw new UsageError(message);
  }
}
