import type { TaskSpec } from "../task-spec.js";

/** lm-eval has no 5-option MedQA; this is `medqa_4options`' template over the 5-option release. */
export const medqa_5options: TaskSpec = {
  task: "medqa_5options",
  family: "lm-eval",
  dataset_path: "medqa/{split}.jsonl",
  training_split: "train",
  validation_split: "validation",
  test_split: "test",
  output_type: "multiple_choice",
  doc_to_text:
    "Question: {{question}}\nA. {{options.A}}\nB. {{options.B}}\nC. {{options.C}}\nD. {{options.D}}\nE. {{options.E}}\nAnswer:",
  doc_to_choice: ["A", "B", "C", "D", "E"],
  doc_to_target: "{{answer_idx}}",
  metric_list: [
    { metric: "acc", aggregation: "mean", higher_is_better: true },
    { metric: "acc_norm", aggregation: "mean", higher_is_better: true },
  ],
};
