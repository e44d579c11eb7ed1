import type { MultipleChoiceTaskDef } from "../task.js";
import { medqa_4options } from "./medqa_4options.js";
import { MEDQA5_LETTERS as L, medqaGold, medqaLetterPrompt, medqaSplits } from "./medqa-data.js";

/** lm-eval has no 5-option MedQA; this is `medqa_4options`'s template over the 5-option release. */
export const medqa_5options: MultipleChoiceTaskDef = {
  ...medqa_4options,
  name: "medqa_5options",
  splits: medqaSplits(L),
  docToText: (doc) => medqaLetterPrompt(doc, L),
  docToChoice: () => L,
  docToTarget: (doc) => medqaGold(doc, L),
  config: {
    ...medqa_4options.config,
    dataset_path: "medqa/{split}.jsonl",
    doc_to_text:
      "Question: {{question}}\\nA. {{options.A}}\\nB. {{options.B}}\\nC. {{options.C}}\\nD. {{options.D}}\\nE. {{options.E}}\\nAnswer:",
    doc_to_choice: L,
  },
};
