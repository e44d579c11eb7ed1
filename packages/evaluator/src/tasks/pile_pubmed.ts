import type { TaskSpec } from "../task-spec.js";

/**
 * lm-eval 0.4 `pile_pubmed-abstracts` / `pile_pubmed-central` (tasks/pile/pile_arxiv.yaml family),
 * and BioMed-LLaMA's variants, which put EOS (lm-eval's old `eot_token_id`) before the first window.
 */
function pileSpec(task: string, setName: string, prefixToken: "bos" | "eos", lmEvalName?: string): TaskSpec {
  return {
    task,
    ...(lmEvalName ? { aliases: [lmEvalName] } : {}),
    family: prefixToken === "bos" ? "lm-eval" : "biomed-llama",
    metadata: { version: 2 },
    dataset_path: "pile/{test,val}.jsonl.zst",
    dataset_name: setName,
    test_split: "test",
    output_type: "loglikelihood_rolling",
    doc_to_text: "",
    doc_to_target: "{{text}}",
    rolling_prefix_token: prefixToken,
    metric_list: [
      { metric: "word_perplexity", aggregation: "weighted_perplexity", higher_is_better: false },
      { metric: "byte_perplexity", aggregation: "weighted_perplexity", higher_is_better: false },
      { metric: "bits_per_byte", aggregation: "bits_per_byte", higher_is_better: false },
    ],
  };
}

export const pile_pubmed_abstracts = pileSpec(
  "pile_pubmed_abstracts",
  "PubMed Abstracts",
  "bos",
  "pile_pubmed-abstracts",
);
export const pile_pubmed_central = pileSpec(
  "pile_pubmed_central",
  "PubMed Central",
  "bos",
  "pile_pubmed-central",
);
export const pile_pubmed_abstracts_eos = pileSpec("pile_pubmed_abstracts_eos", "PubMed Abstracts", "eos");
export const pile_pubmed_central_eos = pileSpec("pile_pubmed_central_eos", "PubMed Central", "eos");
