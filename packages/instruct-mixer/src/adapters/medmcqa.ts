import {
  checkMedmcqa,
  MEDMCQA_OPTION_FIELDS,
  medmcqaGold,
  medmcqaId,
  optionLetter,
} from "@biomed-llama/medical-qa";
import type { AdapterOptions, AdapterResult } from "../record.js";
import { RecordCollector, readCheckedLines } from "../source-file.js";
import { fillTemplate, formatChoiceAnswer, formatOptions, RECORD_TEMPLATES } from "../templates.js";

export interface MedMCQAOptions extends AdapterOptions {
  /**
   * Append the release's explanation (`exp`) after the answer. Off by default: the seed trained
   * on the answer alone, and many `exp` fields are OCR-noisy.
   */
  withExplanation?: boolean;
}

/**
 * MedMCQA release files (train.json / dev.json — JSON Lines despite the name): `question`,
 * `opa`..`opd`, `cop` 1-4 with 1 = opa (the Hugging Face copy is 0-based; this reads the
 * release), `exp`, `id`. The seed's stratum name is "medmcqa/train". Malformed records are keyed
 * by their MedMCQA id.
 */
export function loadMedMCQA(file: string, opts: MedMCQAOptions = {}): AdapterResult {
  const source = opts.name ?? "medmcqa/train";
  const out = new RecordCollector(file, opts.strict ?? false);
  const t = RECORD_TEMPLATES.multipleChoice;
  for (const r of readCheckedLines(file, out, (v) => checkMedmcqa(v, { nonBlank: true }), medmcqaId)) {
    const options = MEDMCQA_OPTION_FIELDS.map((f, i): [string, string] => [optionLetter(i), r[f].trim()]);
    const [letter, text] = options[medmcqaGold(r)];
    let output = formatChoiceAnswer(letter, text);
    if (opts.withExplanation && typeof r.exp === "string" && r.exp.trim() !== "") {
      output += `\n\nExplanation: ${r.exp.trim()}`;
    }
    out.add({
      source,
      template: "qa",
      instruction: t.instruction,
      input: fillTemplate(t.input, { question: r.question.trim(), options: formatOptions(options) }),
      output,
    });
  }
  return out.result();
}
