import { type Doc, dataPath, readJsonLines } from "../datasets.js";
import { TaskDataError } from "../errors.js";
import type { SplitSource } from "../task.js";

/** A MedQA-USMLE record as released (data_clean/questions/US): question, options{A..}, answer_idx. */
export interface MedqaDoc extends Doc {
  question: string;
  options: Record<string, string>;
  answer_idx: string;
}

function validate(path: string, letters: string[]) {
  return (d: Doc, i: number): MedqaDoc => {
    const where = `${path}:${i + 1}`;
    if (typeof d.question !== "string") throw new TaskDataError(`${where}: field "question" missing`);
    const opts = d.options as Record<string, unknown> | undefined;
    for (const l of letters)
      if (!opts || typeof opts[l] !== "string")
        throw new TaskDataError(`${where}: field "options.${l}" missing`);
    if (typeof d.answer_idx !== "string" || !letters.includes(d.answer_idx.trim()))
      throw new TaskDataError(`${where}: field "answer_idx" must be one of ${letters.join("")}`);
    return d as MedqaDoc;
  };
}

/** Split files of the release: 4-option files are `phrases_no_exclude_<split>.jsonl`, 5-option `<split>.jsonl`. */
export function medqaSplit(file: string, letters: string[]): SplitSource {
  return {
    files: [`medqa/${file}`],
    load: (dataDir) => {
      const path = dataPath(dataDir, "medqa", file);
      return readJsonLines(path).map(validate(path, letters));
    },
  };
}

export const MEDQA4_LETTERS = ["A", "B", "C", "D"];
export const MEDQA5_LETTERS = ["A", "B", "C", "D", "E"];

export function medqaSplits(letters: string[]): Record<string, SplitSource> {
  const prefix = letters.length === 4 ? "phrases_no_exclude_" : "";
  return {
    train: medqaSplit(`${prefix}train.jsonl`, letters),
    validation: medqaSplit(`${prefix}dev.jsonl`, letters),
    test: medqaSplit(`${prefix}test.jsonl`, letters),
  };
}

/** lm-eval's preprocess_medqa.doc_to_text, over the release's field names. */
export function medqaLetterPrompt(doc: Doc, letters: string[]): string {
  const d = doc as MedqaDoc;
  const answers = letters.map((k) => `${k}. ${d.options[k]}\n`).join("");
  return `Question: ${d.question}\n${answers}Answer:`;
}

export function medqaGold(doc: Doc, letters: string[]): number {
  return letters.indexOf((doc as MedqaDoc).answer_idx.trim());
}
