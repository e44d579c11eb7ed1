import type { TaskSpec } from "../task-spec.js";

/** BioMed-LLaMA's `medmcqa` (its lm-eval 0.3 fork): question only, option texts scored as " <option>". */
export const medmcqa_biomedllama: TaskSpec = {
  task: "medmcqa_biomedllama",
  family: "biomed-llama",
  metadata: { version: 0 },
  dataset_path: "medmcqa/{dev,train}.json",
  training_split: "train",
  test_split: "validation",
  output_type: "multiple_choice",
  doc_to_text: "Question: {{question}}\nAnswer:",
  doc_to_choice: "{{[opa, opb, opc, opd]}}",
  doc_to_target: "{{cop - 1}}",
  metric_list: [
    { metric: "acc", aggregation: "mean", higher_is_better: true },
    { metric: "acc_norm", aggregation: "mean", higher_is_better: true },
  ],
};
