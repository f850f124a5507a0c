/**
 * A mistyped command: @oclif/plugin-not-found's hook where someone is at a terminal (it asks "Did
 * you mean embed image?" and runs the suggestion on yes). Without a terminal on stdin (scripts,
 * tests, CI) the plugin prints no suggestion at all, so here the suggestion goes to stderr as part
 * of the error and the run exits 127 (the shell's "command not found"), never waiting for input.
 */
import { type Hook, toConfiguredId } from "@oclif/core";
import notFound from "@oclif/plugin-not-found";

/** Levenshtein distance, as the plugin ranks the suggestions. */
export function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length];
}

const hook: Hook.CommandNotFound = async function (opts) {
  if (process.stdin.isTTY) return notFound.call(this, opts);
  const hidden = new Set(opts.config.commands.filter((c) => c.hidden).map((c) => c.id));
  const ids = [...opts.config.commandIDs, ...opts.config.commands.flatMap((c) => c.aliases)].filter((id) => !hidden.has(id));
  const topic = opts.id.split(":")[0];
  const binHelp = `${opts.config.bin} help${opts.config.findTopic(topic) ? ` ${topic}` : ""}`;
  const closest = ids.map((id) => ({ id, d: distance(opts.id, id) })).sort((a, b) => a.d - b.d)[0]?.id;
  const typed = toConfiguredId(opts.id, opts.config);
  const suggestion = closest ? ` Did you mean ${toConfiguredId(closest, opts.config)}?` : "";
  this.error(`${typed} is not an ${opts.config.bin} command.${suggestion} Run ${binHelp} for a list of available commands.`, { exit: 127 });
};

export default hook;
