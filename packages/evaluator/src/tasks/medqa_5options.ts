import type { MultipleChoiceTaskDef } from "../task.js";
import { MEDQA5_LETTERS as L, medqaGold, medqaLetterPrompt, medqaSplits } from "./medqa-data.js";

/** lm-eval has no 5-option MedQA; this is `medqa_4options`'s template over the 5-option release. */
export const medqa_5options: MultipleChoiceTaskDef = {
  name: "medqa_5options",
  family: "lm-eval",
  outputType: "multiple_choice",
  version: "Yaml",
  splits: medqaSplits(L),
  testSplit: "test",
  fewshotSplits: ["train", "validation"],
  fewshotSampler: "default",
  targetDelimiter: " ",
  fewshotDelimiter: "\n\n",
  docToText: (doc) => medqaLetterPrompt(doc, L),
  docToChoice: () => L,
  docToTarget: (doc) => medqaGold(doc, L),
  metrics: ["acc", "acc_norm"],
  config: {
    dataset_path: "medqa/{split}.jsonl",
    training_split: "train",
    validation_split: "validation",
    test_split: "test",
    doc_to_text:
      "Question: {{question}}\\nA. {{options.A}}\\nB. {{options.B}}\\nC. {{options.C}}\\nD. {{options.D}}\\nE. {{options.E}}\\nAnswer:",
    doc_to_target: "{{answer_idx}}",
    doc_to_choice: L,
  },
};
