import { checkMedqa, type MedqaRules, medqaLetters } from "@biomed-llama/medical-qa";
import type { AdapterOptions, AdapterResult } from "../record.js";
import { RecordCollector, readCheckedLines } from "../source-file.js";
import { fillTemplate, formatChoiceAnswer, formatOptions, RECORD_TEMPLATES } from "../templates.js";

/**
 * What a MedQA record needs to become a training record: non-blank question and options keyed by
 * capital letters (two or more), and an `answer` (where present) that agrees with options[answer_idx].
 */
const RULES: MedqaRules = { nonBlank: true, answerMatches: true };

/**
 * MedQA-USMLE (data_clean/questions/US/*.jsonl): one JSON object per line with `question`,
 * `options` {A: …, B: …, …}, `answer_idx` (a key of options) and usually `answer` (its text).
 * Both the 4-option and 5-option releases load; the seed's stratum name is "usmleqa/train".
 */
export function loadMedQA(file: string, opts: AdapterOptions = {}): AdapterResult {
  const source = opts.name ?? "usmleqa/train";
  const out = new RecordCollector(file, opts.strict ?? false);
  const t = RECORD_TEMPLATES.multipleChoice;
  for (const r of readCheckedLines(file, out, (v) => checkMedqa(v, RULES))) {
    const options = medqaLetters(r).map((k): [string, string] => [k, r.options[k].trim()]);
    out.add({
      source,
      template: "qa",
      instruction: t.instruction,
      input: fillTemplate(t.input, { question: r.question.trim(), options: formatOptions(options) }),
      output: formatChoiceAnswer(r.answer_idx, r.options[r.answer_idx].trim()),
    });
  }
  return out.result();
}
