/**
 * The one map from what went wrong to what the user sees: every error a command lets through
 * becomes an oclif CLIError with a code, an exit status and, where there is one, the fix.
 *
 * Exit statuses (documented in docs/operations.md):
 *   0   everything done
 *   1   fatal: the run could not go on (model not found, unreadable model, provider missing,
 *       output folder in use by another run, on a read-only or full disk or not writable by
 *       this user, a damaged file such as a .npy cut short, a bug)
 *   2   usage: a flag, an argument or an input file is wrong; nothing was written
 *   3   finished, but some inputs failed (listed in the outputs)
 *   127 no such command (src/cli/hooks/command-not-found.ts suggests the closest)
 *   130 interrupted (Ctrl-C, SIGTERM); what was done is kept
 */
import { DedupOptionError } from "../jobs/dedup.js";
import { SearchQueryError } from "../jobs/search.js";
import { Errors } from "@oclif/core";
import { BatcherConfigError } from "../batching/config.js";
import { CocoInputError } from "../eval/coco/annotations.js";
import { DatasetError } from "../eval/knn/dataset.js";
import { RetrievalDatasetError } from "../eval/retrieval/dataset.js";
import { RetrievalInputError } from "../eval/retrieval/recall.js";
import { TemplateError } from "../eval/knn/prompts.js";
import { OutputMismatchError } from "../io/embedding-store.js";
import { FolderNotWritableError, OutputFolderError, unwritableReason } from "../io/directories.js";
import { ShardError } from "../io/shards.js";
import { FolderLockedError } from "../io/folder-lock.js";
import { DamagedFileError } from "../io/jsonl.js";
import { InputError } from "../sources/text.js";
import { ModelNotFoundError } from "../models/common/hub.js";
import { ModelLayoutError } from "../models/common/layout.js";
import { ModelCapabilityError } from "../models/families.js";
import { DtypeSpecError } from "../models/common/variants.js";
import { TaskError } from "../models/registry.js";
import { RemoteError } from "../perf/remote.js";
import { ShardSpecError } from "../sources/shard.js";
import { SourceError } from "../sources/image-files.js";
import { ProviderUnavailableError } from "../runtime/session.js";
import { CommandLineTooLongError } from "../runtime/command-line.js";
import { DiskError } from "../jobs/run-record.js";

export const EXIT = { fatal: 1, usage: 2, someFailed: 3, interrupted: 130 } as const;

type ErrorClass = abstract new (...args: never[]) => Error;

/** Known errors: their code and exit status. Order matters: subclasses before their parents. */
const KNOWN: [ErrorClass, string, number][] = [
  [DtypeSpecError, "bad-dtype", EXIT.usage],
  [TaskError, "bad-task", EXIT.usage],
  [TemplateError, "bad-template", EXIT.usage],
  [SearchQueryError, "bad-query", EXIT.usage],
  [DedupOptionError, "bad-dedup-option", EXIT.usage],
  [DatasetError, "bad-dataset", EXIT.usage],
  [RetrievalDatasetError, "bad-dataset", EXIT.usage],
  [RetrievalInputError, "bad-retrieval-input", EXIT.usage],
  [CocoInputError, "bad-coco-input", EXIT.usage],
  [InputError, "bad-input", EXIT.usage],
  [SourceError, "missing-input", EXIT.usage],
  [ShardSpecError, "bad-shard", EXIT.usage],
  [BatcherConfigError, "bad-batcher-config", EXIT.usage],
  [OutputMismatchError, "output-mismatch", EXIT.usage],
  [OutputFolderError, "output-folder", EXIT.usage],
  [ShardError, "shards", EXIT.usage],
  [FolderLockedError, "output-locked", EXIT.fatal],
  [FolderNotWritableError, "output-not-writable", EXIT.fatal],
  [DiskError, "disk", EXIT.fatal],
  [DamagedFileError, "damaged-output", EXIT.fatal],
  [ModelNotFoundError, "model-not-found", EXIT.fatal],
  [ModelCapabilityError, "model-capability", EXIT.usage],
  [ModelLayoutError, "model-layout", EXIT.fatal],
  [ProviderUnavailableError, "provider-unavailable", EXIT.fatal],
  [CommandLineTooLongError, "command-line-too-long", EXIT.usage],
  // emb perf --url: the server could not be reached, or answered with an error.
  [RemoteError, "server", EXIT.fatal],
  // Flag values checked by hand (a --length-penalty that is not a number, say).
  [RangeError, "bad-value", EXIT.usage],
];

/** The status of a run that finished: interrupted, some inputs failed, or (undefined) all done. */
export function runStatus(run: { interrupted: boolean; failed: number }): number | undefined {
  if (run.interrupted) return EXIT.interrupted;
  return run.failed > 0 ? EXIT.someFailed : undefined;
}

/** A usage error raised by a command itself: a bad flag combination or argument. */
export class UsageError extends Error {}

/** The command's only input could not be processed (a single corrupt image): "some inputs failed". */
export class InputFailedError extends Error {}

/**
 * `output`: the folder the command writes (its --out), named when a disk error does not say
 * which file it was writing (a write to an open file carries no path).
 */
export function toCliError(error: unknown, output?: string): Errors.CLIError {
  if (error instanceof Errors.CLIError) return error;
  if (error instanceof UsageError) return new Errors.CLIError(error.message, { code: "usage", exit: EXIT.usage });
  if (error instanceof InputFailedError) return new Errors.CLIError(error.message, { code: "input-failed", exit: EXIT.someFailed });
  for (const [kind, code, exit] of KNOWN) {
    if (error instanceof kind) return new Errors.CLIError(error.message, { code, exit });
  }
  const disk = diskMessage(error, output);
  if (disk) return new Errors.CLIError(disk, { code: "disk", exit: EXIT.fatal });
  // Passing the Error itself keeps its stack for DEBUG=* output.
  return new Errors.CLIError(error instanceof Error && error.message !== "" ? error : thrownValue(error), {
    code: "internal",
    exit: EXIT.fatal,
    suggestions: ["run again with DEBUG=* for details, and report it with the command line if it persists"],
  });
}

/** Something thrown that is not an Error with a message, as text: never "[object Object]" or "undefined". */
function thrownValue(value: unknown): string {
  if (value instanceof Error) return `${value.name} without a message`;
  if (typeof value === "string" && value !== "") return value;
  if (value === null || value === undefined) return `${value} was thrown instead of an error`;
  let shown: string | undefined;
  try {
    shown = JSON.stringify(value);
  } catch {
    // a cycle: the type is all that can be said
  }
  const what = typeof value === "object" ? "an object" : `a ${typeof value}`;
  return `${what} was thrown instead of an error${shown === undefined || shown === "{}" ? "" : `: ${shown}`}`;
}

/**
 * A full, read-only or failing disk, or a missing right, met where no job turned it into its own
 * message: the environment, not a bug to report. One sentence naming the file (or the output
 * folder) and the fix.
 */
function diskMessage(error: unknown, output: string | undefined): string | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const { code, path } = error as NodeJS.ErrnoException;
  const unwritable = unwritableReason(code);
  if (!unwritable) return undefined;
  // These codes come only from writes; a permission or I/O error may come from a read.
  if (code === "ENOSPC" || code === "EDQUOT" || code === "EROFS") {
    const where = path ? ` ${path}` : output === undefined ? "" : ` into ${output}`;
    return `cannot write${where} (${unwritable.reason}); ${unwritable.fix}`;
  }
  if (!path) return undefined;
  return code === "EIO"
    ? `cannot read or write ${path} (${unwritable.reason}); check the disk and run the same command again`
    : `cannot open ${path} (${unwritable.reason}); give this user access to it, or choose another path`;
}
