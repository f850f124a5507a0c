/**
 * What `emb perf` writes beyond its tables, CSV and chart, from the run's measurements:
 * --profile-export-file (profile-export.ts) and --report's report.json and index.html
 * (perf-report.ts, html-report.ts).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { versions } from "../version.js";
import { renderReportHtml } from "./html-report.js";
import { buildReport, type RunOutputOptions, type RunResults } from "./perf-report.js";
import { experimentOf, writeProfileExport } from "./profile-export.js";

/** Writes what the options ask for beyond the tables: the profile export and the report. */
export async function writeRunOutputs(options: RunOutputOptions, run: RunResults, hooks: { log(line: string): void }): Promise<void> {
  if (options.profileExportFile) {
    const experiments = run.measurements.map((m) => experimentOf(m, m.profile));
    writeProfileExport(options.profileExportFile, experiments, {
      version: `emb ${versions().emb}`,
      serviceKind: options.where.kind === "server" ? "triton" : "",
      endpoint: "",
    });
    hooks.log(`profile export: ${options.profileExportFile}`);
  }
  if (options.report) {
    const report = buildReport(options, options.report, run);
    mkdirSync(options.report.dir, { recursive: true });
    writeFileSync(join(options.report.dir, "report.json"), `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(join(options.report.dir, "index.html"), await renderReportHtml(report));
    hooks.log(`report: ${join(options.report.dir, "index.html")}`);
  }
}
