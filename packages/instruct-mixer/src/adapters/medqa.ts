import type { AdapterOptions, AdapterResult } from "../record.js";
import { isObject, RecordCollector, readJsonLines, requireText } from "../source-file.js";
import { fillTemplate, formatChoiceAnswer, formatOptions, RECORD_TEMPLATES } from "../templates.js";

/**
 * MedQA-USMLE (data_clean/questions/US/*.jsonl): one JSON object per line with `question`,
 * `options` {A: …, B: …, …}, `answer_idx` (a key of options) and usually `answer` (its text).
 * Both the 4-option and 5-option releases load; the seed's stratum name is "usmleqa/train".
 */
export function loadMedQA(file: string, opts: AdapterOptions = {}): AdapterResult {
  const source = opts.name ?? "usmleqa/train";
  const out = new RecordCollector(file, opts.strict ?? false);
  for (const line of readJsonLines(file)) {
    if (line.error) {
      out.reject(line.index, line.error);
      continue;
    }
    const r = line.value;
    if (!isObject(r)) {
      out.reject(line.index, "record is not a JSON object");
      continue;
    }
    const question = requireText(r, "question");
    if (typeof question !== "string") {
      out.reject(line.index, question.reason);
      continue;
    }
    if (!isObject(r.options)) {
      out.reject(line.index, `field "options" is not an object of lettered options`);
      continue;
    }
    const options = Object.entries(r.options).sort(([a], [b]) => a.localeCompare(b));
    const badOption = options.find(
      ([k, v]) => !/^[A-Z]$/.test(k) || typeof v !== "string" || v.trim() === "",
    );
    if (options.length < 2 || badOption) {
      out.reject(line.index, `field "options" must map letters A, B, … to non-empty text`);
      continue;
    }
    const idx = r.answer_idx;
    if (typeof idx !== "string" || !(idx in r.options)) {
      out.reject(line.index, `field "answer_idx" (${JSON.stringify(idx)}) is not one of the option letters`);
      continue;
    }
    const answerText = (r.options[idx] as string).trim();
    if (typeof r.answer === "string" && r.answer.trim() !== answerText) {
      out.reject(line.index, `field "answer" disagrees with options[${idx}]`);
      continue;
    }
    const t = RECORD_TEMPLATES.multipleChoice;
    out.add({
      source,
      template: "qa",
      instruction: t.instruction,
      input: fillTemplate(t.input, {
        question,
        options: formatOptions(options.map(([k, v]) => [k, (v as string).trim()])),
      }),
      output: formatChoiceAnswer(idx, answerText),
    });
  }
  return out.result();
}
