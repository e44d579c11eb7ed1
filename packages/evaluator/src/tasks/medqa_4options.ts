import type { MultipleChoiceTaskDef } from "../task.js";
import { MEDQA4_LETTERS as L, medqaGold, medqaLetterPrompt, medqaSplits } from "./medqa-data.js";

/** lm-eval 0.4 `medqa_4options` (tasks/medqa/medqa.yaml): letters scored after the listed options. */
export const medqa_4options: MultipleChoiceTaskDef = {
  name: "medqa_4options",
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
    dataset_path: "medqa/phrases_no_exclude_{split}.jsonl",
    training_split: "train",
    validation_split: "validation",
    test_split: "test",
    doc_to_text:
      "Question: {{question}}\\nA. {{options.A}}\\nB. {{options.B}}\\nC. {{options.C}}\\nD. {{options.D}}\\nAnswer:",
    doc_to_target: "{{answer_idx}}",
    doc_to_choice: L,
  },
};
