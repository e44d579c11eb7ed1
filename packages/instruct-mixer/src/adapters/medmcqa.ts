import type { AdapterOptions, AdapterResult } from "../record.js";
import { isObject, RecordCollector, readJsonLines, requireText } from "../source-file.js";
import { fillTemplate, formatChoiceAnswer, formatOptions, RECORD_TEMPLATES } from "../templates.js";

export interface MedMCQAOptions extends AdapterOptions {
  /**
   * Append the release's explanation (`exp`) after the answer. Off by default: the seed trained
   * on the answer alone, and many `exp` fields are OCR-noisy.
   */
  withExplanation?: boolean;
}

const OPTION_FIELDS = [
  ["A", "opa"],
  ["B", "opb"],
  ["C", "opc"],
  ["D", "opd"],
] as const;

/**
 * MedMCQA release files (train.json / dev.json — JSON Lines despite the name): `question`,
 * `opa`..`opd`, `cop` 1-4 with 1 = opa (the Hugging Face copy is 0-based; this reads the
 * release), `exp`, `id`. The seed's stratum name is "medmcqa/train".
 */
export function loadMedMCQA(file: string, opts: MedMCQAOptions = {}): AdapterResult {
  const source = opts.name ?? "medmcqa/train";
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
    const id = typeof r.id === "string" ? r.id : undefined;
    const question = requireText(r, "question");
    if (typeof question !== "string") {
      out.reject(line.index, question.reason, id);
      continue;
    }
    const options: [string, string][] = [];
    let problem: string | undefined;
    for (const [letter, field] of OPTION_FIELDS) {
      const text = requireText(r, field);
      if (typeof text !== "string") {
        problem = text.reason;
        break;
      }
      options.push([letter, text]);
    }
    if (problem) {
      out.reject(line.index, problem, id);
      continue;
    }
    const cop = r.cop;
    if (typeof cop !== "number" || !Number.isInteger(cop) || cop < 1 || cop > 4) {
      out.reject(line.index, `field "cop" (${JSON.stringify(cop)}) must be 1, 2, 3 or 4`, id);
      continue;
    }
    const [letter, text] = options[cop - 1];
    let output = formatChoiceAnswer(letter, text);
    if (opts.withExplanation && typeof r.exp === "string" && r.exp.trim() !== "") {
      output += `\n\nExplanation: ${r.exp.trim()}`;
    }
    const t = RECORD_TEMPLATES.multipleChoice;
    out.add({
      source,
      template: "qa",
      instruction: t.instruction,
      input: fillTemplate(t.input, { question, options: formatOptions(options) }),
      output,
    });
  }
  return out.result();
}
