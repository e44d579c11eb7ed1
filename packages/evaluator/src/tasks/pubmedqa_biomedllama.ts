import type { TaskSpec } from "../task-spec.js";

/**
 * BioMed-LLaMA's `pubmedqa` (its lm-eval 0.3 fork, tasks/pubmedqa.py): all 1000 PQA-L items,
 * "Yes"/"No"/"Maybe" scored directly after "Answer:" (no space), acc only. That Task had no
 * train/validation docs, so few-shot examples come from the same 1000 items (the current one
 * excluded) and are written with its `doc_to_target`, " yes"/" no"/" maybe".
 */
export const pubmedqa_biomedllama: TaskSpec = {
  task: "pubmedqa_biomedllama",
  family: "biomed-llama",
  metadata: { version: 0 },
  dataset_path: "pubmedqa/ori_pqal.json",
  test_split: "all",
  output_type: "multiple_choice",
  doc_to_text: 'Abstract: {{CONTEXTS | join("\\n")}}\nQuestion: {{QUESTION}}\nAnswer:',
  doc_to_choice: ["Yes", "No", "Maybe"],
  doc_to_target: "final_decision",
  labels: ["yes", "no", "maybe"],
  target_delimiter: "",
  fewshot_config: { doc_to_target: " {{final_decision}}" },
  metric_list: [{ metric: "acc", aggregation: "mean", higher_is_better: true }],
};
