/**
 * What the jobs that answer per image share (`emb florence`, `emb classify`): the test for one
 * image given on its own, whose answer is printed rather than written, and the output folder of
 * one record per image (results.jsonl, errors.jsonl, run.json) filled as a recorded run, with its
 * summary line.
 */
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { ResultStore, type ResultRecord } from "../io/result-store.js";
import type { ImageSources } from "../pipeline/image-stage.js";
import type { RunCounts } from "../pipeline/runner.js";
import { isTarPath } from "../sources/tar.js";
import { versions } from "../version.js";
import type { JobHooks } from "./hooks.js";
import { recordedJobRun, summaryLines } from "./run-record.js";

/** One image file on its own: no folder (however spelt), .tar shard, --files-from list or shard. */
export async function isSingleImage(sources: ImageSources): Promise<boolean> {
  const { inputs } = sources;
  if (inputs.length !== 1 || sources.list || sources.shard || inputs[0].endsWith("/") || isTarPath(inputs[0])) return false;
  return !(await stat(inputs[0]).catch(() => undefined))?.isDirectory();
}

/** A results folder as a job fills it. */
export interface ResultsFolder {
  out: string;
  shard: ImageSources["shard"];
  /** What the records depend on: another run into the same folder must match it. */
  fingerprint: Record<string, unknown>;
  /** run.json's command and model. */
  command: string;
  model: Record<string, unknown>;
}

export type ResultsOutcome<T> = T & { out: string; rows: number };

/**
 * Runs `work` into the folder's store as a recorded run. `release` (the models) runs when the
 * work ends, after hooks.onEnd, or at once when the folder is refused (another fingerprint, locked).
 */
export async function runIntoResults<R extends ResultRecord, T extends { interrupted: boolean }>(
  folder: ResultsFolder,
  hooks: Pick<JobHooks<unknown>, "warn" | "onEnd">,
  release: () => Promise<void>,
  work: (store: ResultStore<R>, signal: AbortSignal) => Promise<T>,
): Promise<ResultsOutcome<T>> {
  let store: ResultStore<R>;
  try {
    store = ResultStore.open<R>(folder.out, folder.fingerprint, folder.shard ?? null);
  } catch (error) {
    await release();
    throw error;
  }
  const runInfo = { command: folder.command, fingerprint: folder.fingerprint, model: folder.model, versions: versions() };
  const { result, rows } = await recordedJobRun(store, runInfo, hooks, release, (signal) => work(store, signal));
  return { ...result, out: folder.out, rows };
}

/** The lines printed when a results job ends; `done` names what the job did to an image and how many. */
export function resultsSummary(
  o: ResultsOutcome<Pick<RunCounts, "interrupted" | "failed" | "seconds"> & { total: number; unchanged: number }>,
  done: { verb: string; count: number; rateDigits: number },
  provider: string,
): string[] {
  return summaryLines({
    ...o,
    status: o.interrupted ? "interrupted" : "complete",
    done: done.count,
    verb: done.verb,
    unit: "images",
    rateDigits: done.rateDigits,
    provider,
    holds: `${o.rows} results in ${join(o.out, "results.jsonl")}`,
    failures: `failed files and reasons: ${join(o.out, "errors.jsonl")}`,
  });
}
