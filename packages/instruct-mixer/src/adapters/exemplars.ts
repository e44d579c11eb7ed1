import { SourceFormatError } from "../errors.js";
import type { AdapterOptions, AdapterResult } from "../record.js";
import { isObject, RecordCollector, readJsonDocument, requireText } from "../source-file.js";
import { fillTemplate, formatChoiceAnswer, formatOptions, RECORD_TEMPLATES } from "../templates.js";
import { PUBMEDQA_OPTIONS } from "./pubmedqa.js";

/** The `format` tag an exemplar file must carry. */
export const EXEMPLARS_FORMAT = "biomed-llama.exemplars/v1";

/**
 * The few-shot sets (Med-PaLM, Med-PaLM CoT, Med-PaLM 2 CoT, Codex CoT) exist only as tables
 * and figures in papers, so they get a small JSON format of their own:
 *
 * ```json
 * { "format": "biomed-llama.exemplars/v1", "set": "medpalm-cot",
 *   "exemplars": [
 *     { "subset": "usmleqa", "question": "…", "options": {"A": "…", "B": "…"}, "answer": "B",
 *       "explanation": "…step-by-step reasoning…" },
 *     { "subset": "pubmedqa", "context": "…abstract…", "question": "…", "answer": "yes" },
 *     { "subset": "liveqa", "question": "…", "answer": "free-text answer" } ] }
 * ```
 *
 * - `options` present: multiple choice, `answer` is an option letter, output `(X) text`.
 * - `context` present without options: PubMedQA-style, `answer` is yes / no / maybe.
 * - neither: a free-text question, `answer` is the text.
 * - `explanation` (the chain of thought) goes before the answer: "<explanation>\nThe answer is …".
 * - `instruction` may override the kind's default instruction.
 *
 * Stratum: `<subset>/<name>` (e.g. "usmleqa/medpalm", the seed's keys), or `<name>` without a
 * subset; `name` defaults to the file's `set`.
 */
export function loadExemplars(file: string, opts: AdapterOptions = {}): AdapterResult {
  const doc = readJsonDocument(file);
  if (!isObject(doc) || doc.format !== EXEMPLARS_FORMAT)
    throw new SourceFormatError(
      file,
      `expected {"format": "${EXEMPLARS_FORMAT}", "set", "exemplars": [...]}`,
    );
  if (typeof doc.set !== "string" || doc.set === "")
    throw new SourceFormatError(file, `field "set" must name the exemplar set`);
  if (!Array.isArray(doc.exemplars)) throw new SourceFormatError(file, `field "exemplars" must be an array`);
  const name = opts.name ?? doc.set;
  const out = new RecordCollector(file, opts.strict ?? false);
  for (const [index, r] of (doc.exemplars as unknown[]).entries()) {
    if (!isObject(r)) {
      out.reject(index, "exemplar is not a JSON object");
      continue;
    }
    if (r.subset !== undefined && (typeof r.subset !== "string" || !/^[\w.-]+$/.test(r.subset))) {
      out.reject(index, `field "subset" must be a plain name like "usmleqa"`);
      continue;
    }
    const source = r.subset ? `${r.subset}/${name}` : name;
    const question = requireText(r, "question");
    if (typeof question !== "string") {
      out.reject(index, question.reason);
      continue;
    }
    const answer = requireText(r, "answer");
    if (typeof answer !== "string") {
      out.reject(index, answer.reason);
      continue;
    }
    const explanation = r.explanation === undefined ? undefined : requireText(r, "explanation");
    if (explanation !== undefined && typeof explanation !== "string") {
      out.reject(index, explanation.reason);
      continue;
    }
    if (r.instruction !== undefined && typeof r.instruction !== "string") {
      out.reject(index, `field "instruction" is not a string`);
      continue;
    }

    let instruction: string;
    let input: string;
    let final: string;
    if (r.options !== undefined) {
      if (!isObject(r.options)) {
        out.reject(index, `field "options" is not an object of lettered options`);
        continue;
      }
      const options = Object.entries(r.options).sort(([a], [b]) => a.localeCompare(b));
      if (
        options.length < 2 ||
        options.some(([k, v]) => !/^[A-Z]$/.test(k) || typeof v !== "string" || !v.trim())
      ) {
        out.reject(index, `field "options" must map letters A, B, … to non-empty text`);
        continue;
      }
      if (!(answer in r.options)) {
        out.reject(index, `field "answer" (${answer}) is not an option letter`);
        continue;
      }
      const t = RECORD_TEMPLATES.multipleChoice;
      instruction = t.instruction;
      input = fillTemplate(t.input, {
        question,
        options: formatOptions(options.map(([k, v]) => [k, (v as string).trim()])),
      });
      if (typeof r.context === "string" && r.context.trim())
        input = `### Context: ${r.context.trim()}\n\n${input}`;
      final = formatChoiceAnswer(answer, (r.options[answer] as string).trim());
    } else if (r.context !== undefined) {
      const context = requireText(r, "context");
      if (typeof context !== "string") {
        out.reject(index, context.reason);
        continue;
      }
      const option = PUBMEDQA_OPTIONS.find(([, text]) => text === answer.toLowerCase());
      if (!option) {
        out.reject(index, `field "answer" (${answer}) is not yes/no/maybe for a context question`);
        continue;
      }
      const t = RECORD_TEMPLATES.pubmedqa;
      instruction = t.instruction;
      input = `${fillTemplate(t.input, { abstract: context, question })}\n\n### Options:\n${formatOptions(PUBMEDQA_OPTIONS)}`;
      final = formatChoiceAnswer(option[0], option[1]);
    } else {
      const t = RECORD_TEMPLATES.openQuestion;
      instruction = t.instruction;
      input = fillTemplate(t.input, { question });
      final = answer;
    }
    if (explanation !== undefined && r.options === undefined && r.context === undefined) {
      // Free-text answers carry their own reasoning; an explanation just precedes them.
      final = `${explanation}\n\n${final}`;
    } else if (explanation !== undefined) {
      instruction += RECORD_TEMPLATES.chainOfThought.instructionSuffix;
      final = `${explanation}\nThe answer is ${final}.`;
    }
    if (typeof r.instruction === "string" && r.instruction.trim()) instruction = r.instruction.trim();
    out.add({ source, template: "qa", instruction, input, output: final });
  }
  return out.result();
}
