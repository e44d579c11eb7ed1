/** A plain JSON object (not null, not an array). */
export function isJsonObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** One non-blank line of a JSON Lines file: its value, or why it did not parse. `line` counts from 1. */
export type JsonLine =
  | { line: number; value: unknown; error?: undefined }
  | { line: number; value?: undefined; error: string };

/**
 * JSON Lines (MedQA's *.jsonl, MedMCQA's train.json / dev.json despite the name), one result per
 * non-blank line. A line that does not parse is a result too, `error` holding `not valid JSON (…)`:
 * whether one bad line stops the file is the caller's policy. A line is trimmed before parsing
 * (a byte-order mark or a CR at its end is not part of the record).
 */
export function parseJsonLines(text: string): JsonLine[] {
  const out: JsonLine[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === "") continue;
    try {
      out.push({ line: i + 1, value: JSON.parse(line) });
    } catch (err) {
      out.push({ line: i + 1, error: `not valid JSON (${(err as Error).message})` });
    }
  }
  return out;
}

export type JsonObjectEntries =
  | { ok: true; entries: Array<[string, unknown]> }
  | { ok: false; notObject: boolean; reason: string };

/**
 * A JSON document that is one object keyed by id (PubMedQA's ori_pqal.json, pqa_artificial,
 * test_set.json, test_ground_truth.json — keyed by PMID), as entries in FILE order. JSON.parse
 * alone would not do: a JS object lists integer-like keys (PMIDs) in numeric order, Python's json
 * (what the releases and the seed were read with) keeps the file's, and "record i" or a seed's
 * few-shot draw depend on it. A repeated key keeps its first position and its last value, as a
 * Python dict does. Not JSON, or not an object: `ok: false` with the reason (`notObject` tells
 * the two apart).
 */
export function parseJsonObjectEntries(text: string): JsonObjectEntries {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return { ok: false, notObject: false, reason: `not valid JSON (${(err as Error).message})` };
  }
  if (!isJsonObject(doc)) return { ok: false, notObject: true, reason: "expected a JSON object" };
  const obj = doc;
  // The text is valid JSON: scan it for the top-level keys only.
  const keys: string[] = [];
  const seen = new Set<string>();
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      // Most of the file is string content: jump quote to quote, skipping escaped ones.
      let j = text.indexOf('"', i + 1);
      while (isEscaped(text, j)) j = text.indexOf('"', j + 1);
      if (depth === 1 && expectKey) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (!seen.has(key)) keys.push(key);
        seen.add(key);
        expectKey = false;
      }
      i = j;
    } else if (c === 123 /* { */ || c === 91 /* [ */) {
      depth++;
      if (depth === 1) expectKey = true;
    } else if (c === 125 /* } */ || c === 93 /* ] */) depth--;
    else if (c === 44 /* , */ && depth === 1) expectKey = true;
  }
  return { ok: true, entries: keys.map((k) => [k, obj[k]]) };
}

/** Whether the quote at `at` is preceded by an odd number of backslashes. */
function isEscaped(text: string, at: number): boolean {
  let n = 0;
  while (text.charCodeAt(at - 1 - n) === 92 /* \ */) n++;
  return n % 2 === 1;
}
