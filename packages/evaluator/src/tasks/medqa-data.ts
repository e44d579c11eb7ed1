import {
  checkMedqa,
  medqaGold as goldIndex,
  MEDQA4_LETTERS as LETTERS4,
  MEDQA5_LETTERS as LETTERS5,
  type MedqaRecord,
} from "@biomed-llama/medical-qa";
import { type Doc, dataPath, readCheckedLines } from "../datasets.js";
import type { SplitSource } from "../task.js";

/** A MedQA-USMLE record as released (data_clean/questions/US): question, options{A..}, answer_idx. */
export type MedqaDoc = MedqaRecord;

/** Split files of the release: 4-option files are `phrases_no_exclude_<split>.jsonl`, 5-option `<split>.jsonl`. */
export function medqaSplit(file: string, letters: string[]): SplitSource {
  return {
    files: [`medqa/${file}`],
    load: (dataDir) =>
      readCheckedLines(dataPath(dataDir, "medqa", file), (v) =>
        checkMedqa(v, { letters, trimAnswerIdx: true }),
      ),
  };
}

export const MEDQA4_LETTERS = [...LETTERS4];
export const MEDQA5_LETTERS = [...LETTERS5];

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
  return goldIndex(doc as MedqaDoc, letters);
}
