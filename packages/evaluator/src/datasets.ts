import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseCsv } from "csv-parse/sync";
import { TaskDataError } from "./errors.js";

/** One record of a data file, as read (field names of the upstream release). */
export type Doc = Record<string, unknown>;

function need(path: string): string {
  if (!existsSync(path)) throw new TaskDataError(`${path}: data file not found (see --data-dir)`);
  return readFileSync(path, "utf8");
}

/** JSON Lines (MedQA's *.jsonl, MedMCQA's dev.json/train.json despite the name). */
export function readJsonLines(path: string): Doc[] {
  const docs: Doc[] = [];
  need(path)
    .split("\n")
    .forEach((line, i) => {
      if (!line.trim()) return;
      try {
        docs.push(JSON.parse(line));
      } catch {
        throw new TaskDataError(`${path}:${i + 1}: not a JSON object`);
      }
    });
  return docs;
}

/** A JSON object keyed by id (PubMedQA's ori_pqal.json, test_set.json, test_ground_truth.json). */
export function readJsonObject(path: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(need(path));
  } catch (e) {
    if (e instanceof TaskDataError) throw e;
    throw new TaskDataError(`${path}: not valid JSON`);
  }
  if (!v || typeof v !== "object" || Array.isArray(v))
    throw new TaskDataError(`${path}: expected a JSON object`);
  return v as Record<string, unknown>;
}

/** MMLU's header-less CSV: question,A,B,C,D,answer. */
export function readMmluCsv(path: string): Doc[] {
  const rows = parseCsv(need(path), { relax_column_count: false }) as string[][];
  return rows.map((r, i) => {
    if (r.length !== 6) throw new TaskDataError(`${path}:${i + 1}: expected 6 columns, got ${r.length}`);
    return { question: r[0], choices: r.slice(1, 5), answer: r[5] };
  });
}

export function requireString(doc: Doc, field: string, where: string): string {
  const v = doc[field];
  if (typeof v !== "string") throw new TaskDataError(`${where}: field "${field}" missing or not a string`);
  return v;
}

/** Resolve a data file under the data dir; tasks name files relative to it. */
export function dataPath(dataDir: string, ...parts: string[]): string {
  return join(dataDir, ...parts);
}
