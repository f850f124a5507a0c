/**
 * The HTML page of `emb perf --report`: one self-contained file (inline CSS, charts as inline SVG
 * drawn here by Vega's server-side renderer as chart.ts draws its chart; no script, nothing
 * fetched). Every number shown comes from the report.json written beside it, formatted to the
 * digits the cell's data-digits says, so a test can hold the page to the file.
 */
import { parse, View, type Spec } from "vega";
import { escapeHtml } from "../pages/html.js";
import { curveMarks } from "./chart.js";
import type { PerfReport, ReportRow } from "./perf-report.js";

const STAGES = ["queue", "preprocess", "inference", "postprocess"] as const;
const STAGE_COLORS = ["#9aa5b1", "#f2a541", "#3b6fb6", "#6aab5c"];
const FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";

/** A number as shown, with the JSON field it comes from. */
function num(value: number, digits: number, field: string): string {
  return `<span class="num" data-field="${escapeHtml(field)}" data-digits="${digits}">${value.toFixed(digits)}</span>`;
}

const levelName = (report: PerfReport) => (report.load === "request_rate" ? "request rate/s" : "concurrency");

async function svgOf(spec: Spec): Promise<string> {
  const view = new View(parse(spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Throughput against latency, one line per batcher configuration across its load levels; the best ringed, the budget dashed. */
export function curvesSpec(report: PerfReport): Spec {
  const { percentile } = report;
  const points = report.rows.map((r, i) => ({
    rank: i + 1,
    configuration: r.configuration,
    level: r.level,
    throughput: r.throughput,
    latency: r.latencyMs[percentile],
    best: i === report.best,
  }));
  // A range labels each point with its load; a sweep (one load) with the configuration's rank in the table.
  const label = report.kind === "sweep" ? "datum.rank + '.'" : report.load === "request_rate" ? "'r=' + datum.level + '/s'" : "'c=' + datum.level";
  const configurations = [...new Set(points.map((p) => p.configuration))];
  const legend = configurations.length > 1;
  return {
    width: legend ? 580 : 820,
    height: 360,
    padding: 8,
    autosize: { type: "pad" },
    background: "white",
    config: { axis: { labelFont: FONT, titleFont: FONT, labelColor: "#444", titleColor: "#222" }, legend: { labelFont: FONT, titleFont: FONT } },
    data: [
      { name: "points", values: points },
      { name: "best", source: "points", transform: [{ type: "filter", expr: "datum.best" }] },
      { name: "budget", values: report.latencyBudgetMs === null ? [] : [{ latency: report.latencyBudgetMs }] },
    ],
    scales: [
      { name: "x", type: "linear", domain: { data: "points", field: "throughput" }, range: "width", zero: true, nice: true },
      {
        name: "y",
        type: "linear",
        domain: {
          fields: [
            { data: "points", field: "latency" },
            { data: "budget", field: "latency" },
          ],
        },
        range: "height",
        zero: true,
        nice: true,
      },
      { name: "color", type: "ordinal", domain: configurations, range: "category" },
    ],
    axes: [
      { orient: "bottom", scale: "x", title: "Throughput (inferences/s)", grid: true, gridColor: "#eee" },
      { orient: "left", scale: "y", title: `${percentile} latency (ms)`, grid: true, gridColor: "#eee" },
    ],
    legends: legend ? [{ stroke: "color", fill: "color", orient: "right", title: "configuration", symbolType: "circle", labelLimit: 260 }] : [],
    marks: [
      {
        type: "rule",
        from: { data: "budget" },
        encode: {
          enter: {
            x: { value: 0 },
            x2: { signal: "width" },
            y: { scale: "y", field: "latency" },
            stroke: { value: "#c0392b" },
            strokeDash: { value: [6, 4] },
          },
        },
      },
      {
        type: "text",
        from: { data: "budget" },
        encode: {
          enter: {
            x: { signal: "width" },
            y: { scale: "y", field: "latency" },
            dy: { value: -4 },
            align: { value: "right" },
            text: { signal: "'budget ' + datum.latency + ' ms'" },
            fill: { value: "#c0392b" },
            font: { value: FONT },
            fontSize: { value: 11 },
          },
        },
      },
      ...curveMarks({ latency: "latency", series: "configuration", dotSize: 50 }),
      {
        type: "symbol",
        from: { data: "best" },
        encode: {
          enter: {
            x: { scale: "x", field: "throughput" },
            y: { scale: "y", field: "latency" },
            size: { value: 400 },
            fill: { value: "transparent" },
            stroke: { value: "#111" },
            strokeWidth: { value: 2 },
          },
        },
      },
      {
        type: "text",
        from: { data: "points" },
        encode: {
          enter: {
            x: { scale: "x", field: "throughput" },
            y: { scale: "y", field: "latency" },
            dx: { value: -7 },
            dy: { value: -7 },
            align: { value: "right" },
            baseline: { value: "bottom" },
            text: { signal: label },
            font: { value: FONT },
            fontSize: { value: 10 },
            fill: { value: "#555" },
          },
        },
      },
    ],
  };
}

/** Where each row's requests spent their time: a stacked bar per row (queue, preprocess, inference, postprocess). */
export function stagesSpec(report: PerfReport): Spec {
  const values = report.rows.flatMap((r, i) => STAGES.map((stage, order) => ({ row: rowLabel(report, r, i), stage, order, ms: r.breakdownMs[stage] })));
  return {
    width: 760,
    height: Math.max(60, report.rows.length * 28),
    padding: 8,
    autosize: { type: "pad" },
    background: "white",
    config: { axis: { labelFont: FONT, titleFont: FONT, labelColor: "#444" }, legend: { labelFont: FONT, titleFont: FONT } },
    data: [{ name: "stages", values, transform: [{ type: "stack", groupby: ["row"], sort: { field: "order" }, field: "ms" }] }],
    scales: [
      { name: "y", type: "band", domain: { data: "stages", field: "row" }, range: "height", padding: 0.25 },
      { name: "x", type: "linear", domain: { data: "stages", field: "y1" }, range: "width", nice: true, zero: true },
      { name: "color", type: "ordinal", domain: [...STAGES], range: STAGE_COLORS },
    ],
    axes: [
      { orient: "bottom", scale: "x", title: "Mean time per request (ms)", grid: true, gridColor: "#eee" },
      { orient: "left", scale: "y", labelLimit: 320 },
    ],
    legends: [{ fill: "color", orient: "top", direction: "horizontal" }],
    marks: [
      {
        type: "rect",
        from: { data: "stages" },
        encode: {
          enter: {
            y: { scale: "y", field: "row" },
            height: { scale: "y", band: 1 },
            x: { scale: "x", field: "y0" },
            x2: { scale: "x", field: "y1" },
            fill: { scale: "color", field: "stage" },
          },
        },
      },
    ],
  };
}

function rowLabel(report: PerfReport, r: ReportRow, i: number): string {
  const level = report.load === "request_rate" ? `${r.level}/s` : `c=${r.level}`;
  return report.kind === "sweep" ? `${i + 1}. ${r.configuration}` : `${level}`;
}

/** A row's achieved GFLOP/s and share of the CPU's peak, where the arithmetic was counted. */
function arithmeticCells(report: PerfReport, r: ReportRow, i: number): string {
  if (!report.arithmetic) return "";
  const cell = (value: number | null, digits: number, field: string) => `<td class="n">${value === null ? "-" : num(value, digits, `rows.${i}.${field}`)}</td>`;
  return cell(r.gflops, 3, "gflops") + cell(r.peakPercent, 1, "peakPercent");
}

/** What the arithmetic columns mean: the count per item and how the peak is estimated. */
function arithmeticNote(report: PerfReport): string {
  const a = report.arithmetic;
  if (!a) return "";
  const peak =
    a.peakGflops === null
      ? "no share of the CPU's peak is given (the model did not run on the CPU, or its clock is unknown)"
      : `the CPU's fp32 peak is estimated at ${num(a.peakGflops, 1, "arithmetic.peakGflops")} GFLOP/s = ${escapeHtml(a.peakBasis)}`;
  return `<p class="note" id="arithmetic">The model does ${num(a.gflopPerItem, 3, "arithmetic.gflopPerItem")} GFLOP per item (matrix products and convolutions, counted from onnxruntime's profile of one batch${a.lowerBound ? "; a lower bound, as some kernels' arithmetic cannot be counted" : ""}); GFLOP/s is that times the throughput, and ${peak}.</p>`;
}

export async function renderReportHtml(report: PerfReport): Promise<string> {
  const [curves, stages] = await Promise.all([svgOf(curvesSpec(report)), svgOf(stagesSpec(report))]);
  const best = report.best === null ? undefined : report.rows[report.best];
  const p = report.percentile;
  const bestCards = best
    ? `<div class="card accent"><div class="label">Best configuration</div><div class="value small">${escapeHtml(best.configuration)}</div><div class="sub">${levelName(report)} ${best.level}</div></div>
       <div class="card"><div class="label">Throughput</div><div class="value">${num(best.throughput, 1, `rows.${report.best}.throughput`)}</div><div class="sub">inferences/s</div></div>
       <div class="card"><div class="label">${p} latency</div><div class="value">${num(best.latencyMs[p], 2, `rows.${report.best}.latencyMs.${p}`)}</div><div class="sub">ms</div></div>`
    : `<div class="card warn"><div class="label">Best configuration</div><div class="value small">none within the budget</div></div>`;
  const machine = report.machine;
  const software = Object.entries(report.software)
    .map(([name, version]) => `<tr><th>${escapeHtml(name)}</th><td>${escapeHtml(version)}</td></tr>`)
    .join("");
  const rows = report.rows
    .map((r, i) => {
      const f = (path: string) => `rows.${i}.${path}`;
      return `<tr class="${i === report.best ? "best" : ""}" data-row="${i}">
        ${report.kind === "sweep" ? `<td>${escapeHtml(rowLabel(report, r, i))}</td>` : ""}<td class="n">${r.level}</td>
        <td class="n">${num(r.throughput, 1, f("throughput"))}</td>
        <td class="n">${num(r.latencyMs.avg, 2, f("latencyMs.avg"))}</td><td class="n">${num(r.latencyMs.p50, 2, f("latencyMs.p50"))}</td>
        <td class="n">${num(r.latencyMs.p90, 2, f("latencyMs.p90"))}</td><td class="n">${num(r.latencyMs.p99, 2, f("latencyMs.p99"))}</td>
        ${STAGES.map((s) => `<td class="n">${num(r.breakdownMs[s], 2, f(`breakdownMs.${s}`))}</td>`).join("")}
        <td class="n">${num(r.meanBatchSize, 2, f("meanBatchSize"))}</td><td class="n">${num(r.peakRssMiB, 1, f("peakRssMiB"))}</td>
        ${arithmeticCells(report, r, i)}<td class="n">${r.requestCount}</td><td class="n">${r.errors}</td></tr>`;
    })
    .join("");
  // Without a best (none met the budget), the fastest row's stages.
  const stagesOf = report.best ?? 0;
  const runnerStages = Object.entries(report.rows[stagesOf]?.stages ?? {});
  const stageTable =
    runnerStages.length === 0
      ? `<p class="note">The runner's own stage times are recorded in process only (a server reports its statistics as the breakdown above).</p>`
      : `<table class="compact"><thead><tr><th>stage</th><th class="n">calls</th><th class="n">mean ms</th><th class="n">total ms</th></tr></thead><tbody>${runnerStages
          .map(
            ([name, s]) =>
              `<tr><td>${escapeHtml(name)}</td><td class="n">${s.calls}</td><td class="n">${num(s.meanMs, 3, `rows.${stagesOf}.stages.${name}.meanMs`)}</td><td class="n">${num(s.totalMs, 1, `rows.${stagesOf}.stages.${name}.totalMs`)}</td></tr>`,
          )
          .join("")}</tbody></table>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>emb perf report: ${escapeHtml(report.target)}</title>
<style>
  :root { color-scheme: light; }
  body { font-family: ${FONT}; margin: 0; background: #f5f6f8; color: #1d232b; }
  header { background: #1d2a3a; color: #fff; padding: 22px 36px 18px; }
  header h1 { margin: 0 0 4px; font-size: 22px; font-weight: 600; }
  header .meta { color: #b8c4d3; font-size: 13px; }
  main { max-width: 1240px; margin: 0 auto; padding: 20px 36px 40px; }
  section { background: #fff; border: 1px solid #e2e6eb; border-radius: 8px; padding: 16px 20px; margin: 16px 0; }
  h2 { font-size: 16px; margin: 0 0 12px; }
  .cards { display: grid; grid-template-columns: 2fr 1fr 1fr 1fr; gap: 12px; margin-top: 16px; }
  .card { background: #fff; border: 1px solid #e2e6eb; border-radius: 8px; padding: 12px 16px; }
  .card.accent { border-left: 4px solid #3b6fb6; }
  .card.warn { border-left: 4px solid #c0392b; }
  .card .label { font-size: 12px; color: #66717d; text-transform: uppercase; letter-spacing: .04em; }
  .card .value { font-size: 26px; font-weight: 600; margin-top: 4px; }
  .card .value.small { font-size: 17px; }
  .card .sub { font-size: 12px; color: #66717d; }
  .rule { font-size: 13px; color: #4a5560; margin: 10px 0 0; }
  .grid2 { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }
  table { border-collapse: collapse; width: 100%; font-size: 13px; }
  #results { font-size: 11px; }
  #results th, #results td { padding: 4px 5px; }
  .scroll { overflow-x: auto; }
  th, td { padding: 5px 8px; border-bottom: 1px solid #eef0f3; text-align: left; }
  thead th { font-weight: 600; color: #4a5560; background: #fafbfc; }
  .n { text-align: right; font-variant-numeric: tabular-nums; }
  tr.best td { background: #eef4fc; font-weight: 600; }
  table.kv th { width: 40%; color: #4a5560; font-weight: 500; }
  .chart svg { display: block; max-width: 100%; height: auto; }
  pre { background: #1d2a3a; color: #e8edf3; padding: 12px 14px; border-radius: 6px; overflow-x: auto; font-size: 13px; white-space: pre-wrap; word-break: break-all; }
  .note { font-size: 13px; color: #66717d; }
</style></head>
<body>
<header><h1>emb perf: ${escapeHtml(report.target)}</h1>
<div class="meta">${report.kind === "sweep" ? "batcher sweep" : `${levelName(report)} range`}${report.server ? ` against ${escapeHtml(report.server)}` : ", in process"} · ${escapeHtml(report.generatedAt)}</div></header>
<main>
<div class="cards">${bestCards}
  <div class="card"><div class="label">Peak memory</div><div class="value">${num(report.peakRssMiB, 0, "peakRssMiB")}</div><div class="sub">MiB resident (RSS)</div></div>
</div>
<p class="rule">Best: ${escapeHtml(report.bestRule)}.</p>
<section><h2>Throughput vs. ${p} latency${report.kind === "sweep" ? ", per batcher configuration" : ""}</h2><div class="chart" id="curves">${curves}</div></section>
<section><h2>Time per request by stage</h2><div class="chart" id="stages">${stages}</div>
<p class="note">Queue: waiting for admission and in the batcher; preprocess: read, decode, resize, normalise or tokenise; inference: the model run of the request's batch; postprocess: turning outputs into answers.</p></section>
<section><h2>All measurements</h2><p class="note">Latencies and stage times in ms, peak RSS in MiB.</p>${arithmeticNote(report)}<div class="scroll"><table id="results"><thead><tr>${report.kind === "sweep" ? "<th>configuration</th>" : ""}<th class="n">${levelName(report)}</th><th class="n">infer/s</th><th class="n">avg ms</th><th class="n">p50 ms</th><th class="n">p90 ms</th><th class="n">p99 ms</th>${STAGES.map((s) => `<th class="n">${s}</th>`).join("")}<th class="n">mean batch</th><th class="n">peak RSS</th>${report.arithmetic ? `<th class="n">GFLOP/s</th><th class="n">% fp32 peak</th>` : ""}<th class="n">requests</th><th class="n">errors</th></tr></thead><tbody>${rows}</tbody></table></div></section>
<div class="grid2">
<section><h2>Runner stages: ${escapeHtml(rowLabel(report, report.rows[stagesOf], stagesOf))}${report.best === null ? " (fastest)" : " (best)"}</h2><p class="note">The runner's wall time per stage at this level, warm-up included.</p>${stageTable}</section>
<section><h2>Machine and software</h2><table class="kv" id="machine"><tbody>
<tr><th>CPU</th><td>${escapeHtml(machine.cpu)}</td></tr><tr><th>cores</th><td>${machine.cores}</td></tr>
<tr><th>memory</th><td>${machine.memoryGiB} GiB</td></tr><tr><th>OS</th><td>${escapeHtml(machine.os)} (${escapeHtml(machine.arch)})</td></tr>${software}</tbody></table>
${report.server ? `<p class="note">The machine is the client's; the server at ${escapeHtml(report.server)} may be another.</p>` : ""}</section>
</div>
<section><h2>Reproduce</h2><pre id="command">${escapeHtml(report.command)}</pre></section>
</main></body></html>
`;
}
