/**
 * Worker threads that run a module of this package. Built code runs the .js beside the caller;
 * run from the TypeScript sources (tests, bin/dev.js), the worker loads the .ts through tsx,
 * which worker threads do not inherit.
 */
import { Worker, type WorkerOptions } from "node:worker_threads";

/** A worker running module `name` (without extension) of the caller's folder; `callerUrl` is the caller's import.meta.url. */
export function moduleWorker(callerUrl: string, name: string, options: Omit<WorkerOptions, "eval"> = {}): Worker {
  const fromSource = callerUrl.endsWith(".ts");
  const url = new URL(`./${name}${fromSource ? ".ts" : ".js"}`, callerUrl);
  if (!fromSource) return new Worker(url, options);
  const bootstrap = `import("tsx/esm/api").then((tsx) => { tsx.register(); return import(${JSON.stringify(url.href)}); });`;
  return new Worker(bootstrap, { ...options, eval: true });
}
