import { type Checked, NOT_AN_OBJECT, reject, type TextRules, textProblem } from "./check.js";
import { isJsonObject } from "./json-text.js";

/** PubMedQA's answers, in option order: gold index 0 = yes, 1 = no, 2 = maybe. */
export const PUBMEDQA_LABELS = ["yes", "no", "maybe"] as const;
export type PubmedqaLabel = (typeof PUBMEDQA_LABELS)[number];

/**
 * A PubMedQA record without its label (the release's values of ori_pqal.json, pqa_artificial,
 * test_set.json, ori_pqau.json), with the PMID it is keyed by added as `PMID`.
 */
export interface PubmedqaQuestion {
  PMID: string;
  QUESTION: string;
  /** The abstract's paragraphs (without its conclusion). */
  CONTEXTS: string[];
  LABELS?: string[];
  MESHES?: string[];
  YEAR?: string;
  /** The abstract's conclusion. */
  LONG_ANSWER?: string;
  [field: string]: unknown;
}

/** A labelled PubMedQA record (PQA-L, PQA-A). */
export interface PubmedqaRecord extends PubmedqaQuestion {
  final_decision: PubmedqaLabel;
}

export interface PubmedqaRules extends TextRules {
  /**
   * Accept `final_decision` in any case, with whitespace around it ("Maybe "), as the
   * instruct-mixer does; the record then holds the label in lower case. Default: exactly yes, no or maybe.
   */
  anyCaseDecision?: boolean;
}

/** The label `value` names, or undefined. */
export function pubmedqaLabel(value: unknown, anyCase = false): PubmedqaLabel | undefined {
  if (typeof value !== "string") return undefined;
  const v = anyCase ? value.trim().toLowerCase() : value;
  return PUBMEDQA_LABELS.find((l) => l === v);
}

/** Check a record's QUESTION and CONTEXTS; its label is not looked at (the official test split keeps its labels in another file). */
export function checkPubmedqaQuestion(
  pmid: string,
  value: unknown,
  rules: TextRules = {},
): Checked<PubmedqaQuestion> {
  if (!isJsonObject(value)) return NOT_AN_OBJECT;
  const bad = textProblem(value, "QUESTION", rules);
  if (bad) return bad;
  const ctx = value.CONTEXTS;
  if (rules.nonBlank) {
    if (!Array.isArray(ctx) || ctx.length === 0 || ctx.some((c) => typeof c !== "string" || c.trim() === ""))
      return reject("CONTEXTS", `field "CONTEXTS" must be a non-empty array of non-empty strings`, ctx);
  } else if (!Array.isArray(ctx) || ctx.some((c) => typeof c !== "string"))
    return reject("CONTEXTS", `field "CONTEXTS" must be an array of strings`, ctx);
  return { ok: true, record: { ...value, PMID: pmid } as PubmedqaQuestion };
}

/** Check one labelled record (a value of the PMID-keyed object): QUESTION, CONTEXTS, then final_decision. */
export function checkPubmedqa(
  pmid: string,
  value: unknown,
  rules: PubmedqaRules = {},
): Checked<PubmedqaRecord> {
  const q = checkPubmedqaQuestion(pmid, value, rules);
  if (!q.ok) return q;
  const decision = q.record.final_decision;
  const label = pubmedqaLabel(decision, rules.anyCaseDecision);
  if (!label)
    return reject(
      "final_decision",
      `field "final_decision" (${JSON.stringify(decision)}) is not yes/no/maybe`,
      decision,
    );
  return { ok: true, record: { ...q.record, final_decision: label } };
}

/** Index of the correct answer among yes/no/maybe. */
export function pubmedqaGold(record: Pick<PubmedqaRecord, "final_decision">): number {
  return PUBMEDQA_LABELS.indexOf(record.final_decision);
}

/** The abstract as one text: CONTEXTS joined by newlines (as lm-eval and the seed show it). */
export function pubmedqaContext(contexts: readonly string[]): string {
  return contexts.join("\n");
}
