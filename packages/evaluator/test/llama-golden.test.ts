import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { expect, test } from "vitest";
import { loadLlamaLM } from "../src/llama-lm.js";
import { encodeRequests, loglikelihood } from "../src/loglikelihood.js";

// Golden values from PyTorch (scripts/gen-llama-golden.mjs → scripts/torch_llama.py) on a committed
// tiny BF16 checkpoint (tied embeddings, GQA, 64-token context) and the real LLaMA tokenizer.
interface Case {
  context: string;
  continuation: string;
  addBos: boolean;
  contextEnc: number[];
  continuationEnc: number[];
  torch: { logprob: number; isGreedy: boolean };
}
const fx = JSON.parse(readFileSync(new URL("./fixtures/llama-golden.json", import.meta.url), "utf8")) as {
  cases: Case[];
};
const dir = fileURLToPath(new URL("./fixtures/tiny-llama-bf16", import.meta.url));

test("log-likelihoods on a real checkpoint equal PyTorch's, incl. left-truncation and --add-bos", {
  timeout: 60_000,
}, async () => {
  const lm = await loadLlamaLM(dir, { backend: "cpu" });
  expect(lm.maxLength).toBe(64);
  for (const addBos of [false, true]) {
    const cases = fx.cases.filter((c) => c.addBos === addBos);
    const toks = encodeRequests(lm, cases, { addBos });
    toks.forEach((t, i) => {
      expect(t.contextEnc).toEqual(cases[i].contextEnc);
      expect(t.continuationEnc).toEqual(cases[i].continuationEnc);
    });
    const res = await loglikelihood(lm, cases, { addBos, batchSize: 3 });
    res.forEach(([ll, greedy], i) => {
      expect(ll).toBeCloseTo(cases[i].torch.logprob, 3);
      expect(greedy).toBe(cases[i].torch.isGreedy);
    });
  }
  // Known LLaMA ids: " A" → ▁A 319, " yes" / "yes" after a trailing space → ▁yes 4874.
  expect(fx.cases[1].continuationEnc).toEqual([319]);
  expect(fx.cases[2].continuationEnc).toEqual([4874]);
  expect(fx.cases[4].contextEnc.length + 1).toBeGreaterThan(64); // this one is left-truncated
  lm.dispose();
});
