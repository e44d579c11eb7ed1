import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join, relative } from "node:path";
import { writeFileAtomic } from "@biomed-llama/safe-files";
import {
  DataFormatError,
  listCheckpoints,
  MANIFEST_FILE,
  readMetrics,
  type StepMetrics,
} from "@biomed-llama/trainer";
import { lossCurveSpec, renderSvg } from "./plot.js";

/** One row of an lm-eval style results table: task, metric, value, stderr. */
export interface EvalRow {
  file: string;
  task: string;
  nShot: number | string;
  metric: string;
  value: number;
  stderr: number | null;
}

export interface RunSummary {
  steps: number;
  totalSteps: number;
  firstLoss: number;
  lastLoss: number;
  /** Mean of the last min(10, steps) finite losses: a steadier "final loss" than the last step. */
  finalLoss: number;
  meanTokensPerSec: number;
  meanMfu: number;
  peakMemBytes: number;
  tokensSeen: number;
  skippedSteps: number;
}

export interface RunReportOptions {
  /** lm-eval results files to show; default: every `results*.json` under RUN_DIR/eval. */
  evalResults?: string[];
  /** Output path; default RUN_DIR/report.html. */
  out?: string;
}

const finite = (xs: number[]) => xs.filter((x) => Number.isFinite(x));
const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN);

export function summarizeRun(steps: StepMetrics[]): RunSummary {
  const losses = steps.map((s) => s.loss);
  const tail = finite(losses).slice(-Math.min(10, steps.length));
  return {
    steps: steps.length,
    totalSteps: steps.at(-1)?.total_steps ?? 0,
    firstLoss: losses[0] ?? Number.NaN,
    lastLoss: losses.at(-1) ?? Number.NaN,
    finalLoss: mean(tail),
    // The first step pays for compilation and warm-up; leave it out of the throughput means.
    meanTokensPerSec: mean(finite(steps.slice(steps.length > 1 ? 1 : 0).map((s) => s.tokens_per_s))),
    meanMfu: mean(finite(steps.slice(steps.length > 1 ? 1 : 0).map((s) => s.mfu))),
    peakMemBytes: Math.max(0, ...finite(steps.map((s) => s.mem_bytes))),
    tokensSeen: steps.at(-1)?.tokens_seen ?? 0,
    skippedSteps: steps.filter((s) => s.skipped).length,
  };
}

/**
 * Rows of lm-eval results JSON (`results.<task>["<metric>,<filter>"]`, with the stderr under
 * `"<metric>_stderr,<filter>"`), in the file's task order.
 */
export function evalRows(file: string): EvalRow[] {
  let doc: any;
  try {
    doc = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new DataFormatError(`${file}: not a JSON results file (${(e as Error).message})`);
  }
  if (!doc || typeof doc.results !== "object")
    throw new DataFormatError(`${file}: field "results" missing (not an lm-eval results file)`);
  const rows: EvalRow[] = [];
  for (const [task, metrics] of Object.entries<Record<string, unknown>>(doc.results)) {
    for (const [key, value] of Object.entries(metrics)) {
      const [metric, filter = "none"] = key.split(",");
      if (typeof value !== "number" || metric.endsWith("_stderr")) continue;
      const se = metrics[`${metric}_stderr,${filter}`];
      rows.push({
        file,
        task,
        nShot: doc["n-shot"]?.[task] ?? "",
        metric,
        value,
        stderr: typeof se === "number" ? se : null,
      });
    }
  }
  return rows;
}

function findResults(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...findResults(p));
    else if (/^results.*\.json$/.test(name)) out.push(p);
  }
  return out;
}

function dirBytes(dir: string): number {
  let total = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    total += st.isDirectory() ? dirBytes(p) : st.size;
  }
  return total;
}

const esc = (s: unknown) =>
  String(s).replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );
const num = (x: number, digits = 4) => (Number.isFinite(x) ? x.toFixed(digits) : String(x));
const gib = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`;

function table(id: string, head: string[], rows: (string | number)[][]): string {
  const th = head.map((h) => `<th>${esc(h)}</th>`).join("");
  const body = rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join("")}</tr>`).join("\n");
  return `<table id="${id}"><thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

/**
 * Writes a self-contained `report.html` for a training run: summary, loss / learning-rate /
 * throughput curves (inline SVG, no scripts, no network), the run's config, its checkpoints and
 * the evaluation table. Returns the path written.
 */
export async function writeRunReport(runDir: string, opts: RunReportOptions = {}): Promise<string> {
  const metricsPath = join(runDir, "metrics.jsonl");
  if (!existsSync(metricsPath))
    throw new DataFormatError(`${metricsPath}: not found (is ${runDir} a training run?)`);
  const { steps, evals } = readMetrics(metricsPath);
  if (steps.length === 0) throw new DataFormatError(`${metricsPath}: no step records`);
  const summary = summarizeRun(steps);
  const svg = await renderSvg(lossCurveSpec(steps, evals, { title: basename(runDir) }));

  const configPath = join(runDir, "config.json");
  const config: Record<string, unknown> = existsSync(configPath)
    ? JSON.parse(readFileSync(configPath, "utf8"))
    : {};
  const checkpoints = listCheckpoints(runDir).map((c) => {
    const manifest = JSON.parse(readFileSync(join(c.dir, MANIFEST_FILE), "utf8"));
    return [
      c.step,
      relative(runDir, c.dir),
      manifest.world_size ?? manifest.worldSize ?? "",
      gib(dirBytes(c.dir)),
    ];
  });
  const resultFiles = opts.evalResults ?? findResults(join(runDir, "eval"));
  const rows = resultFiles.flatMap(evalRows);

  const summaryRows: [string, string][] = [
    ["steps logged", `${summary.steps} of ${summary.totalSteps}`],
    ["loss: first → final (mean of last 10)", `${num(summary.firstLoss)} → ${num(summary.finalLoss)}`],
    ["tokens seen", String(summary.tokensSeen)],
    ["throughput (mean tokens/s)", num(summary.meanTokensPerSec, 1)],
    ["MFU (mean)", `${num(100 * summary.meanMfu, 3)} %`],
    ["peak memory", gib(summary.peakMemBytes)],
    ["skipped steps (non-finite)", String(summary.skippedSteps)],
  ];
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>biomed-llama run report: ${esc(basename(runDir))}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 980px; color: #222; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: .5rem 0; font-size: .9rem; }
td, th { border: 1px solid #ccc; padding: .25rem .6rem; text-align: left; }
th { background: #f4f4f4; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 0; } code { background: #f4f4f4; padding: 0 .2rem; }
</style></head>
<body>
<h1>Run report: <code>${esc(runDir)}</code></h1>
<p>Written ${esc(new Date().toISOString())} by <code>biomed-llama report</code>.</p>
<h2>Summary</h2>
${table(
  "summary",
  ["what", "value"],
  summaryRows.map(([k, v]) => [k, v]),
)}
<h2>Curves</h2>
<figure id="curves">${svg}</figure>
<h2>Evaluation</h2>
${
  rows.length
    ? table(
        "eval",
        ["task", "n-shot", "metric", "value", "± stderr", "file"],
        rows.map((r) => [
          r.task,
          r.nShot,
          r.metric,
          num(r.value),
          r.stderr === null ? "" : num(r.stderr),
          relative(runDir, r.file),
        ]),
      )
    : '<p id="eval-none">No evaluation results found.</p>'
}
<h2>Checkpoints</h2>
${checkpoints.length ? table("checkpoints", ["step", "directory", "world size", "size"], checkpoints) : "<p>None.</p>"}
<h2>Configuration</h2>
${table(
  "config",
  ["key", "value"],
  Object.entries(config).map(([k, v]) => [k, typeof v === "object" ? JSON.stringify(v) : String(v)]),
)}
</body></html>
`;
  const out = opts.out ?? join(runDir, "report.html");
  writeFileAtomic(out, html);
  return out;
}
