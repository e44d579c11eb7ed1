// Golden log-likelihoods for test/llama-golden.test.ts, from PyTorch (scripts/torch_llama.py).
// 1. writes a tiny BF16 LLaMA checkpoint (tied embeddings, GQA, 64-token context) with llama-model;
// 2. tokenizes the requests with the real LLaMA tokenizer as lm-eval's _encode_pair does;
// 3. has PyTorch score them, one unpadded sequence each.
// Run from packages/evaluator after building: node scripts/gen-llama-golden.mjs
import { execFileSync } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { initHFCheckpoint } from "@biomed-llama/llama-model";
import { LlamaTokenizer } from "@biomed-llama/tokenizer";
import { encodeRequests } from "../dist/index.js";

const dir = "test/fixtures/tiny-llama-bf16";
rmSync(dir, { recursive: true, force: true });
await initHFCheckpoint(
  {
    vocab_size: 32000,
    hidden_size: 16,
    intermediate_size: 32,
    num_hidden_layers: 2,
    num_attention_heads: 2,
    num_key_value_heads: 1,
    max_position_embeddings: 64,
    rms_norm_eps: 1e-6,
    rope_theta: 10000,
    tie_word_embeddings: true,
    initializer_range: 0.2,
    bos_token_id: 1,
    eos_token_id: 2,
  },
  dir,
  { dtype: "BF16", seed: 7 },
);
const tok = await LlamaTokenizer.load();
const lm = { encode: (t) => tok.encode(t), bosId: tok.bosId, eosId: tok.eosId };
const requests = [
  { context: "Question: Which vitamin deficiency causes scurvy?\nAnswer:", continuation: " Vitamin C" },
  { context: "Question: Which vitamin deficiency causes scurvy?\nAnswer:", continuation: " A" },
  { context: "Abstract: Statins lower LDL.\nQuestion: Do statins lower LDL?\nAnswer: ", continuation: "yes" },
  {
    context: "Abstract: Statins lower LDL.\nQuestion: Do statins lower LDL?\nAnswer:",
    continuation: "Maybe",
  },
  {
    context:
      "Abstract: Dyschesia can be provoked by inappropriate defecation movements. The aim of this prospective study was to demonstrate dysfunction of the anal sphincter and/or the musculus puborectalis in patients with dyschesia using anorectal endosonography.\nQuestion: Is anorectal endosonography valuable in dyschesia?\nAnswer:",
    continuation: " yes",
  },
];
const plain = encodeRequests(lm, requests);
const bos = encodeRequests(lm, requests.slice(0, 2), { addBos: true });
const cases = [
  ...requests.map((r, i) => ({ ...r, addBos: false, ...plain[i] })),
  ...requests.slice(0, 2).map((r, i) => ({ ...r, addBos: true, ...bos[i] })),
];
writeFileSync("test/fixtures/llama-golden.json", JSON.stringify({ checkpoint: dir, cases }, null, 1));
execFileSync("/usr/bin/python3", ["scripts/gen-llama-golden.py"], { stdio: "inherit" });
