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

/**
 * A JSON object keyed by id (PubMedQA's ori_pqal.json, test_set.json, test_ground_truth.json), as
 * entries in file order. JSON.parse alone would not do: JS orders integer-like keys (PMIDs)
 * numerically, and document order decides which few-shot examples a seed draws.
 */
export function readJsonObjectEntries(path: string): Array<[string, unknown]> {
  const text = need(path);
  const bad = (what: string): never => {
    throw new TaskDataError(`${path}: ${what}`);
  };
  let i = 0;
  const ws = () => {
    while (i < text.length && " \t\n\r".includes(text[i])) i++;
  };
  /** End index (exclusive) of the JSON string starting at `at`. */
  const stringEnd = (at: number): number => {
    let j = at + 1;
    while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
    if (j >= text.length) bad("unterminated string");
    return j + 1;
  };
  ws();
  if (text[i] !== "{") bad("expected a JSON object");
  i++;
  const out: Array<[string, unknown]> = [];
  ws();
  if (text[i] === "}") return out;
  for (;;) {
    ws();
    if (text[i] !== '"') bad("expected a key");
    const keyEnd = stringEnd(i);
    const key = JSON.parse(text.slice(i, keyEnd)) as string;
    i = keyEnd;
    ws();
    if (text[i] !== ":") bad(`expected ":" after key ${key}`);
    i++;
    ws();
    const start = i;
    let depth = 0;
    while (i < text.length) {
      const c = text[i];
      if (c === '"') {
        i = stringEnd(i);
        if (depth === 0) break;
        continue;
      }
      if (c === "{" || c === "[") depth++;
      else if (c === "}" || c === "]") {
        if (depth === 0) break;
        depth--;
        if (depth === 0) {
          i++;
          break;
        }
      } else if (depth === 0 && c === ",") break;
      i++;
    }
    try {
      out.push([key, JSON.parse(text.slice(start, i))]);
    } catch {
      bad(`value of key ${key} is not valid JSON`);
    }
    ws();
    if (text[i] === ",") {
      i++;
      continue;
    }
    if (text[i] === "}") break;
    bad(`expected "," or "}" after key ${key}`);
  }
  return out;
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
