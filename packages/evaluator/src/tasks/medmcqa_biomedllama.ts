import type { MultipleChoiceTaskDef } from "../task.js";
import { MEDMCQA_SPLITS, type MedmcqaDoc, medmcqaGold, medmcqaOptions } from "./medmcqa-data.js";

/** BioMed-LLaMA's `medmcqa` (its lm-eval 0.3 fork): question only, option texts scored as " <option>". */
export const medmcqa_biomedllama: MultipleChoiceTaskDef = {
  name: "medmcqa_biomedllama",
  family: "biomed-llama",
  outputType: "multiple_choice",
  version: 0,
  splits: MEDMCQA_SPLITS,
  testSplit: "validation",
  fewshotSplits: ["train"],
  fewshotSampler: "default",
  targetDelimiter: " ",
  fewshotDelimiter: "\n\n",
  docToText: (doc) => `Question: ${(doc as MedmcqaDoc).question}\nAnswer:`,
  docToChoice: medmcqaOptions,
  docToTarget: medmcqaGold,
  metrics: ["acc", "acc_norm"],
  config: {
    dataset_path: "medmcqa/{dev,train}.json",
    training_split: "train",
    test_split: "validation",
    doc_to_text: "Question: {{question}}\\nAnswer:",
    doc_to_target: "{{cop - 1}}",
    doc_to_choice: "{{[opa, opb, opc, opd]}}",
  },
};
