import { readFileSync } from "node:fs";
import { SourceFormatError } from "./errors.js";
import type { InstructRecord, MalformedRecord } from "./record.js";

/** Read a whole source file; a missing or unreadable file is a format error naming it. */
export function readSourceText(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new SourceFormatError(file, code === "ENOENT" ? "file not found" : `cannot read (${code ?? err})`);
  }
}

/** Parse a whole-file JSON document (PubMedQA, Alpaca arrays, prompt files). */
export function readJsonDocument(file: string): unknown {
  const text = readSourceText(file);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new SourceFormatError(file, `not valid JSON (${(err as Error).message})`);
  }
}

/**
 * JSON Lines, one record per non-blank line. A line that does not parse is a malformed record
 * (index = line number - 1), not a fatal error: one bad line in 182k should not stop a mixture.
 */
export function* readJsonLines(file: string): Generator<{ index: number; value?: unknown; error?: string }> {
  const lines = readSourceText(file).split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === "") continue;
    try {
      yield { index: i, value: JSON.parse(line) };
    } catch (err) {
      yield { index: i, error: `line ${i + 1} is not valid JSON (${(err as Error).message})` };
    }
  }
}

/** Collects an adapter's output; in strict mode the first malformed record throws. */
export class RecordCollector {
  readonly records: InstructRecord[] = [];
  readonly malformed: MalformedRecord[] = [];

  constructor(
    readonly file: string,
    private readonly strict: boolean,
  ) {}

  add(record: InstructRecord): void {
    this.records.push(record);
  }

  reject(index: number, reason: string, key?: string): void {
    if (this.strict) throw new SourceFormatError(this.file, reason + (key ? ` (id ${key})` : ""), index);
    this.malformed.push({ file: this.file, index, reason, ...(key ? { key } : {}) });
  }

  result(): { records: InstructRecord[]; malformed: MalformedRecord[] } {
    return { records: this.records, malformed: this.malformed };
  }
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A required non-blank string field, or the reason it is not one. */
export function requireText(obj: Record<string, unknown>, field: string): string | { reason: string } {
  const v = obj[field];
  if (typeof v !== "string")
    return { reason: `field "${field}" is ${v === undefined ? "missing" : "not a string"}` };
  if (v.trim() === "") return { reason: `field "${field}" is empty` };
  return v.trim();
}

/**
 * A JSON object document plus its top-level keys in file order. JSON.parse (like every JS
 * object) lists integer-like keys — PubMedQA's PMIDs — in numeric order, not the order of the
 * file; Python's json keeps file order, and "record i" should mean the i-th in the file.
 */
export function readJsonObjectInFileOrder(
  file: string,
): { doc: Record<string, unknown>; keys: string[] } | undefined {
  const text = readSourceText(file);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new SourceFormatError(file, `not valid JSON (${(err as Error).message})`);
  }
  if (!isObject(doc)) return undefined;
  const keys: string[] = [];
  const seen = new Set<string>();
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      // Most of the file is string content: jump quote to quote with indexOf, skipping escaped ones.
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
  return { doc, keys };
}

/** Whether the quote at `at` is preceded by an odd number of backslashes. */
function isEscaped(text: string, at: number): boolean {
  let n = 0;
  while (text.charCodeAt(at - 1 - n) === 92) n++;
  return n % 2 === 1;
}
