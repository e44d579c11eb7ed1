import { readFileSync } from "node:fs";
import { basename, dirname } from "node:path";
import { compareTable, type ResultsJson } from "@biomed-llama/evaluator";
import type { Command } from "commander";
import { fail } from "../fail.js";

function readResults(path: string): ResultsJson {
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new Error(
      `${path}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "not found" : "not valid JSON"}`,
    );
  }
  const r = v as ResultsJson;
  if (!r || typeof r.results !== "object" || r.results === null)
    throw new Error(`${path}: no "results" object (not an lm-eval results file)`);
  return r;
}

export function registerCompare(program: Command): void {
  program
    .command("compare")
    .alias("table")
    .description(
      "One markdown table comparing results.json files: a row per run, a column per task (BioMed-LLaMA's layout)",
    )
    .argument("<results...>", "results.json files")
    .option("--names <list>", "comma-separated run names (default: each file's parent folder)")
    .option("--by-metric", "one row per task metric and a column per run, with ± stderr", false)
    .action((files: string[], o: { names?: string; byMetric: boolean }) => {
      try {
        const runs = files.map(readResults);
        const names = o.names ? o.names.split(",") : files.map((f) => basename(dirname(f)) || f);
        if (names.length !== runs.length)
          throw new Error(`--names has ${names.length} names for ${runs.length} files`);
        process.stdout.write(`${compareTable(runs, names, { layout: o.byMetric ? "metrics" : "runs" })}\n`);
      } catch (e) {
        fail(e);
      }
    });
}
