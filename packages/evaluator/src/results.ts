import {
  closeSync,
  copyFileSync,
  existsSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  rmSync,
  writeSync,
} from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { checkOutput, ioError, makeParents, OutputError, publish, withPath } from "@biomed-llama/safe-files";
import type { TaskResult } from "./evaluate.js";

/** lm-eval's results file (the keys people grep for), plus what this run chose. */
export interface ResultsJson {
  results: Record<string, Record<string, number | string>>;
  group_subtasks: Record<string, string[]>;
  configs: Record<string, Record<string, unknown>>;
  versions: Record<string, number | string>;
  "n-shot": Record<string, number>;
  higher_is_better: Record<string, Record<string, boolean>>;
  "n-samples": Record<string, { original: number; effective: number }>;
  config: Record<string, unknown>;
  git_hash: string | null;
  date: number;
  [key: string]: unknown;
}

export interface RunInfo {
  model: string;
  modelArgs: string;
  batchSize: number;
  limit: number | null;
  addBos: boolean;
  fewshotSeed: number;
  maxLength: number;
  bosId: number;
  eosId: number;
  gitHash?: string | null;
  startTime: number;
  endTime: number;
  extra?: Record<string, unknown>;
}

const HIGHER_IS_BETTER: Record<string, boolean> = {
  acc: true,
  acc_norm: true,
  word_perplexity: false,
  byte_perplexity: false,
  bits_per_byte: false,
};

export function buildResults(taskResults: readonly TaskResult[], run: RunInfo): ResultsJson {
  const r: ResultsJson = {
    results: {},
    group_subtasks: {},
    configs: {},
    versions: {},
    "n-shot": {},
    higher_is_better: {},
    "n-samples": {},
    config: {
      model: run.model,
      model_args: run.modelArgs,
      batch_size: run.batchSize,
      batch_sizes: [],
      limit: run.limit,
      add_bos: run.addBos,
      bootstrap_iters: 0,
      fewshot_seed: run.fewshotSeed,
      ...run.extra,
    },
    git_hash: run.gitHash ?? null,
    date: run.startTime,
    add_bos: run.addBos,
    max_length: run.maxLength,
    eot_token_id: run.eosId,
    bos_token_id: run.bosId,
    start_time: run.startTime,
    end_time: run.endTime,
    total_evaluation_time_seconds: String(run.endTime - run.startTime),
  };
  for (const tr of taskResults) {
    const t = tr.task;
    r.results[t.name] = { alias: t.name, ...tr.metrics };
    r.group_subtasks[t.name] = [];
    const metricNames =
      t.outputType === "multiple_choice"
        ? t.metrics
        : ["word_perplexity", "byte_perplexity", "bits_per_byte"];
    r.configs[t.name] = {
      task: t.name,
      family: t.family,
      ...t.config,
      ...(t.outputType === "multiple_choice"
        ? {
            description: t.description ?? "",
            target_delimiter: t.targetDelimiter,
            fewshot_delimiter: t.fewshotDelimiter,
            fewshot_config: { sampler: t.fewshotSampler, split_used: tr.fewshotSplit },
            metric_list: t.metrics.map((m) => ({ metric: m, aggregation: "mean", higher_is_better: true })),
          }
        : {}),
      num_fewshot: tr.nShot,
      output_type: t.outputType,
      repeats: 1,
      metadata: { version: t.version },
    };
    r.versions[t.name] = t.version;
    r["n-shot"][t.name] = tr.nShot;
    r.higher_is_better[t.name] = Object.fromEntries(metricNames.map((m) => [m, HIGHER_IS_BETTER[m]]));
    r["n-samples"][t.name] = tr.nSamples;
  }
  return r;
}

function fmt(v: unknown): string {
  return typeof v === "number" ? v.toFixed(4) : String(v);
}

/** Metrics of one task result, in lm-eval's order, as [metric, value, stderr]. */
function metricRows(res: Record<string, number | string>): Array<[string, number | string, number | string]> {
  const rows: Array<[string, number | string, number | string]> = [];
  for (const [k, v] of Object.entries(res)) {
    if (k === "alias" || k.includes("_stderr,")) continue;
    const [metric, filter] = k.split(",");
    rows.push([metric, v, res[`${metric}_stderr,${filter}`] ?? "N/A"]);
  }
  return rows;
}

function renderTable(header: string[], rows: string[][], rightAlign: boolean[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    `|${cells.map((c, i) => (rightAlign[i] ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join("|")}|`;
  const sep = `|${widths.map((w, i) => (rightAlign[i] ? `${"-".repeat(Math.max(w - 1, 1))}:` : "-".repeat(w))).join("|")}|`;
  return [line(header), sep, ...rows.map(line)].join("\n");
}

/** lm-eval's `make_table`: |Tasks|Version|Filter|n-shot|Metric| |Value| |Stderr|. */
export function makeTable(r: ResultsJson): string {
  const rows: string[][] = [];
  for (const [task, res] of Object.entries(r.results)) {
    let first = true;
    for (const [metric, value, stderr] of metricRows(res)) {
      const hib = r.higher_is_better[task]?.[metric];
      rows.push([
        first ? String(res.alias ?? task) : "",
        first ? String(r.versions[task] ?? "N/A") : "",
        "none",
        first ? String(r["n-shot"][task] ?? "") : "",
        metric,
        hib === undefined ? "" : hib ? "↑" : "↓",
        fmt(value),
        "±",
        fmt(stderr),
      ]);
      first = false;
    }
  }
  return renderTable(["Tasks", "Version", "Filter", "n-shot", "Metric", "", "Value", "", "Stderr"], rows, [
    false,
    true,
    false,
    true,
    false,
    false,
    true,
    false,
    true,
  ]);
}

/** The number BioMed-LLaMA's table shows for a task: word perplexity for corpora, else accuracy. */
function headlineMetric(res: Record<string, number | string>): string | undefined {
  if ("word_perplexity,none" in res) return "word_perplexity";
  if ("acc,none" in res) return "acc";
  return metricRows(res)[0]?.[0];
}

/**
 * Several results files in one markdown table. `layout: "runs"` (default) is BioMed-LLaMA's README
 * table: one row per run (`| Model | Strategy | task… |`), each cell the task's headline metric
 * (accuracy, or word perplexity for Pile tasks) with the shot count in parentheses when few-shot.
 * `layout: "metrics"` puts every metric of every task on its own row, one column per run, ± stderr.
 * `names` label the runs (default: each run's model_args).
 */
export function compareTable(
  runs: readonly ResultsJson[],
  names?: readonly string[],
  opts: { layout?: "runs" | "metrics" } = {},
): string {
  const labels = runs.map(
    (r, i) => names?.[i] ?? String(r.config?.model_args ?? r.config?.model ?? `run${i + 1}`),
  );
  if ((opts.layout ?? "runs") === "runs") {
    const tasks: string[] = [];
    for (const r of runs) for (const t of Object.keys(r.results)) if (!tasks.includes(t)) tasks.push(t);
    const rows = runs.map((r, i) => {
      const shots = tasks.map((t) => r["n-shot"]?.[t] ?? 0).filter((k) => k > 0);
      return [
        labels[i],
        shots.length ? "few-shot" : "0-shot",
        ...tasks.map((t) => {
          const res = r.results[t];
          const m = res && headlineMetric(res);
          const v = m ? res[`${m},none`] : undefined;
          if (typeof v !== "number") return "-";
          const k = r["n-shot"]?.[t] ?? 0;
          return `${v.toFixed(4)}${k > 0 ? ` (${k})` : ""}`;
        }),
      ];
    });
    return renderTable(["Model", "Strategy", ...tasks], rows, [false, false, ...tasks.map(() => true)]);
  }
  const keys: Array<[string, string]> = [];
  for (const r of runs)
    for (const [task, res] of Object.entries(r.results))
      for (const [metric] of metricRows(res))
        if (!keys.some(([t, m]) => t === task && m === metric)) keys.push([task, metric]);
  const rows = keys.map(([task, metric]) => [
    task,
    metric,
    ...runs.map((r) => {
      const res = r.results[task];
      const v = res?.[`${metric},none`];
      if (v === undefined) return "-";
      const nshot = r["n-shot"]?.[task];
      const se = res[`${metric}_stderr,none`];
      const val = typeof v === "number" ? v.toFixed(4) : String(v);
      const err = typeof se === "number" ? ` ± ${se.toFixed(4)}` : "";
      return `${val}${err}${nshot ? ` (${nshot}-shot)` : ""}`;
    }),
  ]);
  return renderTable(["Task", "Metric", ...labels], rows, [false, false, ...labels.map(() => true)]);
}

/** The request cache's name inside a results directory (see `RequestCache`). */
export const CACHE_FILE = "requests-cache.jsonl";

/** What `checkResultsDir` found at a results directory; every state may be written. */
export type ResultsDirState = "absent" | "empty" | "resume" | "replace";

export interface ResultsDirOptions {
  /** An existing directory with results (or anything else) in it may be replaced. */
  overwrite?: boolean;
  /** The flag that named the directory, for messages (default "--output"). */
  flag?: string;
}

/** True when `abs` is a directory holding nothing but a request cache (an interrupted run). */
function onlyCache(abs: string): boolean {
  try {
    const names = readdirSync(abs);
    return names.length > 0 && names.every((n) => n === CACHE_FILE);
  } catch {
    return false;
  }
}

/**
 * Checks a results directory before any work: absent, empty, or holding only the request cache of
 * an interrupted run ("resume": the run continues from it) may be written; a directory with anything
 * else in it only with `overwrite`; a file never. Throws one line naming the flag and the path.
 */
export function checkResultsDir(dir: string, opts: ResultsDirOptions = {}): ResultsDirState {
  const resume = onlyCache(resolve(dir));
  const state = checkOutput(dir, {
    flag: opts.flag ?? "--output",
    kind: "dir",
    overwrite: opts.overwrite || resume,
  });
  return resume ? "resume" : state;
}

/** `path` written and flushed to disk; an error names `shownAs` (the path the user will look at). */
function writeDurable(path: string, text: string, shownAs: string): void {
  let fd = -1;
  try {
    fd = openSync(path, "wx", 0o644);
    const bytes = Buffer.from(text);
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
  } catch (e) {
    throw ioError(e, shownAs);
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

/**
 * results.json, results.md and samples_<task>.jsonl (when asked) into `dir`, whole or not at all:
 * they are written in a temp directory beside `dir` that is renamed into place, so a failure (a full
 * disk, a file size limit) leaves `dir` as it was, no temp files, and no parent directories that
 * were made for it; the error names the file. The request cache already in `dir` is kept (it is
 * keyed by checkpoint and tokens, so it never gives a wrong answer); anything else in `dir` is
 * replaced only with `overwrite` (check first with `checkResultsDir`).
 */
export function writeResultsDir(
  dir: string,
  results: ResultsJson,
  taskResults: readonly TaskResult[],
  opts: { logSamples?: boolean } & ResultsDirOptions = {},
): { resultsPath: string; tablePath: string; samplePaths: string[] } {
  const abs = resolve(dir);
  const files: Array<[string, string]> = [];
  if (opts.logSamples)
    for (const tr of taskResults)
      files.push([
        `samples_${tr.task.name}.jsonl`,
        tr.samples.map((s) => JSON.stringify(s)).join("\n") + (tr.samples.length ? "\n" : ""),
      ]);
  files.push(["results.md", `${makeTable(results)}\n`]);
  // Last: a results.json is only ever seen next to the files it describes.
  files.push(["results.json", `${JSON.stringify(results, null, 2)}\n`]);

  const parent = dirname(abs);
  const undoParents = makeParents(parent);
  const tmp = join(parent, `.${basename(abs)}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  try {
    withPath(tmp, () => mkdirSync(tmp));
    for (const [name, text] of files) writeDurable(join(tmp, name), text, join(abs, name));
    const cache = join(abs, CACHE_FILE);
    if (existsSync(cache)) {
      try {
        linkSync(cache, join(tmp, CACHE_FILE));
      } catch {
        withPath(cache, () => copyFileSync(cache, join(tmp, CACHE_FILE)));
      }
    }
    const replace = opts.overwrite || onlyCache(abs);
    try {
      publish(tmp, abs, { replace, flag: opts.flag ?? "--output" });
    } catch (e) {
      throw e instanceof OutputError ? e : ioError(e, abs);
    }
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    undoParents();
    throw e;
  }
  return {
    resultsPath: join(abs, "results.json"),
    tablePath: join(abs, "results.md"),
    samplePaths: files.filter(([n]) => n.startsWith("samples_")).map(([n]) => join(abs, n)),
  };
}

/** Whole file or nothing, flushed to disk; an error names the path (re-exported from safe-files). */
export { writeFileAtomic } from "@biomed-llama/safe-files";
