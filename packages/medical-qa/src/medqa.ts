import { type Checked, NOT_AN_OBJECT, reject, type TextRules, textProblem } from "./check.js";
import { isJsonObject } from "./json-text.js";

/**
 * A MedQA-USMLE record as released (data_clean/questions/US/*.jsonl; the 4-option files are
 * `phrases_no_exclude_*.jsonl`): the release's own field names, the very object that was read.
 */
export interface MedqaRecord {
  question: string;
  /** Option texts by letter: {A: …, B: …, …}. */
  options: Record<string, string>;
  /** The letter of the correct option. */
  answer_idx: string;
  /** The correct option's text, in most files. */
  answer?: string;
  meta_info?: string;
  metamap_phrases?: string[];
  [field: string]: unknown;
}

export const MEDQA4_LETTERS: readonly string[] = ["A", "B", "C", "D"];
export const MEDQA5_LETTERS: readonly string[] = ["A", "B", "C", "D", "E"];

export interface MedqaRules extends TextRules {
  /**
   * The options a record must have, in order (lm-eval's medqa_4options reads A-D); other keys of
   * `options` are not looked at. Default: every key of `options` is an option, in sorted order
   * (with `nonBlank`, keys must be single capital letters and there must be two or more).
   */
  letters?: readonly string[];
  /** Match `answer_idx` after trimming whitespace (the evaluator's rule). Default: exactly. */
  trimAnswerIdx?: boolean;
  /** A string `answer` must equal the text of `options[answer_idx]`, both trimmed (the instruct-mixer's rule). */
  answerMatches?: boolean;
}

/** The option letters of a record: the keys of `options`, sorted. */
export function medqaLetters(record: Pick<MedqaRecord, "options">): string[] {
  return Object.keys(record.options).sort();
}

/** Check one MedQA record (a parsed JSON line). */
export function checkMedqa(value: unknown, rules: MedqaRules = {}): Checked<MedqaRecord> {
  if (!isJsonObject(value)) return NOT_AN_OBJECT;
  const bad = textProblem(value, "question", rules);
  if (bad) return bad;
  const options = value.options;
  if (!isJsonObject(options))
    return reject("options", `field "options" is not an object of lettered options`, options);
  const letters = rules.letters ?? Object.keys(options).sort();
  if (!rules.letters && rules.nonBlank) {
    const key = letters.find((k) => !/^[A-Z]$/.test(k));
    if (key !== undefined)
      return reject(
        "options",
        `field "options" has key ${JSON.stringify(key)}, not a capital letter`,
        options,
      );
    if (letters.length < 2) return reject("options", `field "options" holds fewer than 2 options`, options);
  }
  for (const k of letters) {
    const badOption = textProblem(options, k, rules, `options.${k}`);
    if (badOption) return badOption;
  }
  const idx = value.answer_idx;
  const letter = typeof idx !== "string" ? undefined : rules.trimAnswerIdx ? idx.trim() : idx;
  if (letter === undefined || !letters.includes(letter))
    return reject(
      "answer_idx",
      `field "answer_idx" (${JSON.stringify(idx)}) is not one of the option letters ${letters.join(", ")}`,
      idx,
    );
  if (
    rules.answerMatches &&
    typeof value.answer === "string" &&
    value.answer.trim() !== (options[letter] as string).trim()
  )
    return reject("answer", `field "answer" disagrees with options[${letter}]`, value.answer);
  return { ok: true, record: value as MedqaRecord };
}

/**
 * Index of the correct option among `letters` (default: the record's own letters, sorted):
 * `answer_idx` "C" → 2. -1 when it names none of them.
 */
export function medqaGold(
  record: Pick<MedqaRecord, "options" | "answer_idx">,
  letters?: readonly string[],
): number {
  const ls = letters ?? medqaLetters(record);
  const i = ls.indexOf(record.answer_idx);
  return i >= 0 ? i : ls.indexOf(record.answer_idx.trim());
}
