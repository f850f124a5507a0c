/** The base of every emb command: errors go through the one map in errors.ts. */
import { Command } from "@oclif/core";
import { toCliError, UsageError } from "./errors.js";

export abstract class EmbCommand extends Command {
  protected override async catch(error: Error & { exitCode?: number }): Promise<unknown> {
    return super.catch(toCliError(error));
  }

  /** Stops with a usage error (exit 2) naming what is wrong and how to fix it. */
  protected usageError(message: string): never {
    throw new UsageError(message);
  }
}
