import type { TaskSpec } from "../task-spec.js";

/** lm-eval 0.4 `medqa_4options` (tasks/medqa/medqa.yaml): letters scored after the listed options. */
export const medqa_4options: TaskSpec = {
  task: "medqa_4options",
  family: "lm-eval",
  dataset_path: "medqa/phrases_no_exclude_{split}.jsonl",
  training_split: "train",
  validation_split: "validation",
  test_split: "test",
  output_type: "multiple_choice",
  doc_to_text:
    "Question: {{question}}\nA. {{options.A}}\nB. {{options.B}}\nC. {{options.C}}\nD. {{options.D}}\nAnswer:",
  doc_to_choice: ["A", "B", "C", "D"],
  doc_to_target: "{{answer_idx}}",
  metric_list: [
    { metric: "acc", aggregation: "mean", higher_is_better: true },
    { metric: "acc_norm", aggregation: "mean", higher_is_better: true },
  ],
};
