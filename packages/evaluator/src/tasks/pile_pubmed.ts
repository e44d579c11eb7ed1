import type { PerplexityTaskDef } from "../task.js";
import { pileSplit } from "./pile-data.js";

/** lm-eval 0.4 `pile_pubmed-abstracts` / `pile_pubmed-central` (tasks/pile/pile_arxiv.yaml family), and
 * BioMed-LLaMA's variants, which put EOS (lm-eval's old `eot_token_id`) before the first window. */
function pileTask(
  name: string,
  setName: string,
  prefixToken: "bos" | "eos",
  lmEvalName?: string,
): PerplexityTaskDef {
  return {
    name,
    aliases: lmEvalName ? [lmEvalName] : undefined,
    family: prefixToken === "bos" ? "lm-eval" : "biomed-llama",
    outputType: "loglikelihood_rolling",
    version: 2,
    splits: { test: pileSplit("test", setName), validation: pileSplit("val", setName) },
    testSplit: "test",
    docToTarget: (doc) => doc.text as string,
    prefixToken,
    config: {
      dataset_path: "pile/{test,val}.jsonl.zst",
      dataset_name: setName,
      test_split: "test",
      doc_to_text: "",
      doc_to_target: "{{text}}",
      rolling_prefix_token: prefixToken,
      metric_list: [
        { metric: "word_perplexity", aggregation: "weighted_perplexity", higher_is_better: false },
        { metric: "byte_perplexity", aggregation: "weighted_perplexity", higher_is_better: false },
        { metric: "bits_per_byte", aggregation: "bits_per_byte", higher_is_better: false },
      ],
    },
  };
}

export const pile_pubmed_abstracts = pileTask(
  "pile_pubmed_abstracts",
  "PubMed Abstracts",
  "bos",
  "pile_pubmed-abstracts",
);
export const pile_pubmed_central = pileTask(
  "pile_pubmed_central",
  "PubMed Central",
  "bos",
  "pile_pubmed-central",
);
export const pile_pubmed_abstracts_eos = pileTask("pile_pubmed_abstracts_eos", "PubMed Abstracts", "eos");
export const pile_pubmed_central_eos = pileTask("pile_pubmed_central_eos", "PubMed Central", "eos");
