import { readFileSync } from "node:fs";
import { type Checked, checkJsonLines, isJsonObject, parseJsonObjectEntries } from "@biomed-llama/medical-qa";
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

/** A plain JSON object (not null, not an array). */
export const isObject = isJsonObject;

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
 * A repeated key keeps its first position and its last value, as in Python.
 */
export function readJsonObjectInFileOrder(
  file: string,
): { doc: Record<string, unknown>; keys: string[] } | undefined {
  const parsed = parseJsonObjectEntries(readSourceText(file));
  if (!parsed.ok) {
    if (parsed.notObject) return undefined;
    throw new SourceFormatError(file, parsed.reason);
  }
  return { doc: Object.fromEntries(parsed.entries), keys: parsed.entries.map(([key]) => key) };
}

/**
 * The records of a JSON Lines source that pass `check` (medical-qa's checks of the release
 * formats). A line that does not parse or does not pass is a malformed record of `out` (index =
 * line number - 1), keyed by `key` of its JSON where given, not a fatal error: one bad line in
 * 182k should not stop a mixture (unless strict).
 */
export function readCheckedLines<T>(
  file: string,
  out: RecordCollector,
  check: (value: unknown) => Checked<T>,
  key?: (parsed: unknown) => string | undefined,
): T[] {
  const records: T[] = [];
  for (const r of checkJsonLines(readSourceText(file), check)) {
    if (r.ok) records.push(r.record);
    else out.reject(r.line - 1, r.invalidJson ? `line ${r.line} is ${r.reason}` : r.reason, key?.(r.parsed));
  }
  return records;
}
