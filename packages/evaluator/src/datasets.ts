import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  type Checked,
  checkJsonLines,
  parseJsonLines,
  parseJsonObjectEntries,
  type Rejection,
} from "@biomed-llama/medical-qa";
import { parse as parseCsv } from "csv-parse/sync";
import { TaskDataError } from "./errors.js";

/** One record of a data file, as read (field names of the upstream release). */
export type Doc = Record<string, unknown>;

function need(path: string): string {
  if (!existsSync(path)) throw new TaskDataError(`${path}: data file not found (see --data-dir)`);
  return readFileSync(path, "utf8");
}

/** JSON Lines (MedQA's *.jsonl, MedMCQA's dev.json/train.json despite the name, the Pile's shards). */
export function readJsonLines(path: string): Doc[] {
  return parseJsonLines(need(path)).map((l) => {
    if (l.error !== undefined) throw new TaskDataError(`${path}:${l.line}: ${l.error}`);
    return l.value as Doc;
  });
}

/**
 * A JSON Lines release file, each record checked (medical-qa's checks): the first bad line throws a
 * TaskDataError naming file, line and field. `word` rewords a rejection where this package always
 * worded it otherwise.
 */
export function readCheckedLines<T>(
  path: string,
  check: (value: unknown) => Checked<T>,
  word: (bad: Rejection) => string = (bad) => bad.reason,
): T[] {
  return checkJsonLines(need(path), check).map((r) => {
    if (!r.ok) throw new TaskDataError(`${path}:${r.line}: ${word(r)}`);
    return r.record;
  });
}

/**
 * A JSON object keyed by id (PubMedQA's ori_pqal.json, test_set.json, test_ground_truth.json), as
 * entries in file order. JSON.parse alone would not do: JS orders integer-like keys (PMIDs)
 * numerically, and document order decides which few-shot examples a seed draws.
 */
export function readJsonObjectEntries(path: string): Array<[string, unknown]> {
  const parsed = parseJsonObjectEntries(need(path));
  if (!parsed.ok) throw new TaskDataError(`${path}: ${parsed.reason}`);
  return parsed.entries;
}

/** Same, as an object (for lookups where order does not matter). */
export function readJsonObject(path: string): Record<string, unknown> {
  return Object.fromEntries(readJsonObjectEntries(path));
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
