import type { TaskSpec } from "../task-spec.js";

/**
 * BioMed-LLaMA's `usmleqa` (its lm-eval 0.3 fork, tasks/usmleqa.py, GBaker 4-option data):
 * only the question is shown and each option's text is scored as " <option>"; the gold letter
 * names a position among them.
 */
export const usmleqa: TaskSpec = {
  task: "usmleqa",
  family: "biomed-llama",
  metadata: { version: 0 },
  dataset_path: "medqa/phrases_no_exclude_{split}.jsonl",
  training_split: "train",
  test_split: "test",
  output_type: "multiple_choice",
  doc_to_text: "Question: {{question}}\nAnswer:",
  doc_to_choice: "{{[options.A, options.B, options.C, options.D]}}",
  doc_to_target: "{{answer_idx}}",
  metric_list: [
    { metric: "acc", aggregation: "mean", higher_is_better: true },
    { metric: "acc_norm", aggregation: "mean", higher_is_better: true },
  ],
};
