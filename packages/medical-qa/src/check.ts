import { parseJsonLines } from "./json-text.js";

/** Why a record was refused: one line naming the field (`field` absent when the record itself is not an object). */
export interface Rejection {
  field?: string;
  reason: string;
  /** The offending value, for a caller that words its own message. */
  got?: unknown;
}

/** A checked record: the typed record, or why not. Nothing is thrown; the policy is the caller's. */
export type Checked<T> = { ok: true; record: T } | ({ ok: false } & Rejection);

/** What a check requires of text fields. */
export interface TextRules {
  /**
   * Text must hold something besides whitespace (and PubMedQA's CONTEXTS at least one paragraph):
   * the instruct-mixer's rule, since a blank question or option makes a useless training record.
   * Off: any string is text (the trainer's and the evaluator's rule).
   */
  nonBlank?: boolean;
}

export const NOT_AN_OBJECT: { ok: false } & Rejection = Object.freeze({
  ok: false,
  reason: "record is not a JSON object",
});

export function reject(field: string, reason: string, got?: unknown): { ok: false } & Rejection {
  return { ok: false, field, reason, got };
}

/** The rejection for a text field of `obj`, or undefined when it is fine. `name` is the field as reported. */
export function textProblem(
  obj: Record<string, unknown>,
  key: string,
  rules: TextRules,
  name = key,
): ({ ok: false } & Rejection) | undefined {
  const v = obj[key];
  if (typeof v !== "string")
    return reject(name, `field "${name}" is ${v === undefined ? "missing" : "not a string"}`, v);
  if (rules.nonBlank && v.trim() === "") return reject(name, `field "${name}" is empty`, v);
  return undefined;
}

/** One line of a JSON Lines file after its check. `parsed` is the line's JSON where it parsed. */
export type CheckedLine<T> = { line: number } & (
  | { ok: true; record: T }
  | ({ ok: false; invalidJson: boolean; parsed?: unknown } & Rejection)
);

/**
 * Every non-blank line of a JSON Lines text, parsed and checked: the typed record, or the
 * rejection (`invalidJson` when the line is not JSON at all; its reason is `not valid JSON (…)`).
 */
export function checkJsonLines<T>(text: string, check: (value: unknown) => Checked<T>): CheckedLine<T>[] {
  return parseJsonLines(text).map((l): CheckedLine<T> => {
    if (l.error !== undefined) return { ok: false, line: l.line, invalidJson: true, reason: l.error };
    const c = check(l.value);
    return c.ok ? { ...c, line: l.line } : { ...c, line: l.line, invalidJson: false, parsed: l.value };
  });
}
