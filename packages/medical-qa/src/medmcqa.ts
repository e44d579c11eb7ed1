import { type Checked, NOT_AN_OBJECT, reject, type TextRules, textProblem } from "./check.js";
import { isJsonObject } from "./json-text.js";

/**
 * A MedMCQA record as released (train.json / dev.json, JSON Lines despite the name): the release's
 * own field names, the very object that was read.
 */
export interface MedmcqaRecord {
  question: string;
  opa: string;
  opb: string;
  opc: string;
  opd: string;
  /** The correct option, counted from 1 (1 = opa). The Hugging Face copy counts from 0; this is the release. */
  cop: 1 | 2 | 3 | 4;
  id?: string;
  /** The explanation; null or "" in many records, OCR-noisy in others. */
  exp?: string | null;
  subject_name?: string | null;
  topic_name?: string | null;
  choice_type?: string;
  [field: string]: unknown;
}

/** The option fields, in option order (A = opa). */
export const MEDMCQA_OPTION_FIELDS = ["opa", "opb", "opc", "opd"] as const;

/** Check one MedMCQA record (a parsed JSON line): question, opa..opd, then cop. */
export function checkMedmcqa(value: unknown, rules: TextRules = {}): Checked<MedmcqaRecord> {
  if (!isJsonObject(value)) return NOT_AN_OBJECT;
  for (const field of ["question", ...MEDMCQA_OPTION_FIELDS]) {
    const bad = textProblem(value, field, rules);
    if (bad) return bad;
  }
  const cop = value.cop;
  if (typeof cop !== "number" || !Number.isInteger(cop) || cop < 1 || cop > 4)
    return reject("cop", `field "cop" (${JSON.stringify(cop)}) must be 1, 2, 3 or 4 (1 = opa)`, cop);
  return { ok: true, record: value as MedmcqaRecord };
}

/** The four option texts, A..D. */
export function medmcqaOptions(record: MedmcqaRecord): string[] {
  return MEDMCQA_OPTION_FIELDS.map((f) => record[f]);
}

/** Index of the correct option: the release's cop counts from 1, indices from 0. */
export function medmcqaGold(record: Pick<MedmcqaRecord, "cop">): number {
  return record.cop - 1;
}

/** The record's id where it has a string one (every release record does). */
export function medmcqaId(value: unknown): string | undefined {
  return isJsonObject(value) && typeof value.id === "string" ? value.id : undefined;
}
