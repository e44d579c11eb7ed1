import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initHFCheckpoint, LLAMA_PRESETS, type LlamaForCausalLM } from "@biomed-llama/llama-model";
import { LlamaTokenizer } from "@biomed-llama/tokenizer";
import { beforeAll, describe, expect, test } from "vitest";
import { encodePair } from "../src/encode-pair.js";
import { ModelLoadError } from "../src/errors.js";
import { LlamaLM, loadLlamaLM } from "../src/llama-lm.js";
import { loglikelihood, loglikelihoodRolling } from "../src/loglikelihood.js";
import { getRollingTokenWindows, makeDisjointWindow } from "../src/rolling-windows.js";

// A tiny real checkpoint (HF layout, safetensors) driven by the real LLaMA SentencePiece model.
let lm: Awaited<ReturnType<typeof loadLlamaLM>>;
let tok: LlamaTokenizer;

beforeAll(async () => {
  const dir = join(mkdtempSync(join(tmpdir(), "eval-llama-")), "tiny");
  await initHFCheckpoint(LLAMA_PRESETS["tiny-llama"], dir, { seed: 3 });
  lm = await loadLlamaLM(dir, { backend: "wasm" });
  tok = await LlamaTokenizer.load();
}, 120_000);

/** Reference: score one unpadded sequence with the model's own full log-softmax. */
function naive(model: LlamaForCausalLM, ids: number[], from: number): { ll: number; greedy: boolean } {
  const lp = model.logProbs([ids]);
  const flat = lp.dataSync() as Float32Array;
  lp.dispose();
  const V = model.config.vocab_size;
  let ll = 0;
  let greedy = true;
  for (let t = from; t < ids.length; t++) {
    const dist = flat.subarray((t - 1) * V, t * V);
    ll += dist[ids[t]];
    let best = 0;
    for (let j = 1; j < V; j++) if (dist[j] > dist[best]) best = j;
    if (best !== ids[t]) greedy = false;
  }
  return { ll, greedy };
}

describe("LlamaLM over a tiny real checkpoint", () => {
  test("the real tokenizer splits ' yes' after 'Answer:' into the piece ▁yes", () => {
    const { contextEnc, continuationEnc } = encodePair(
      (t) => tok.encode(t),
      "Question: Is it?\nAnswer:",
      " yes",
    );
    expect(continuationEnc.map((id) => tok.idToPiece(id))).toEqual(["▁yes"]);
    expect(contextEnc.map((id) => tok.idToPiece(id)).at(-1)).toBe(":");
  });

  test("batched, padded, grouped scoring equals one-sequence-at-a-time log-softmax", {
    timeout: 60_000,
  }, async () => {
    const reqs = [
      { context: "Question: Which vitamin is fat soluble?\nAnswer:", continuation: " A" },
      { context: "Question: Which vitamin is fat soluble?\nAnswer:", continuation: " B" },
      { context: "Abstract: short.\nQuestion: ok?\nAnswer:", continuation: " maybe" },
      { context: "Hi", continuation: " there, how are you today?" },
      { context: "Question: x\nAnswer: ", continuation: "Vitamin D" },
    ];
    const res = await loglikelihood(lm, reqs, { batchSize: 3 });
    for (const [i, r] of reqs.entries()) {
      const { contextEnc, continuationEnc } = encodePair((t) => tok.encode(t), r.context, r.continuation);
      const ref = naive(lm.model, [...contextEnc, ...continuationEnc], contextEnc.length);
      expect(res[i][0]).toBeCloseTo(ref.ll, 3);
      expect(res[i][1]).toBe(ref.greedy);
      expect(res[i][0]).toBeLessThan(0);
    }
    // With --add-bos the context starts with BOS and the numbers change.
    const bos = await loglikelihood(lm, reqs.slice(0, 1), { addBos: true });
    const { contextEnc, continuationEnc } = encodePair(
      (t) => tok.encode(t),
      reqs[0].context,
      reqs[0].continuation,
    );
    const refBos = naive(lm.model, [1, ...contextEnc, ...continuationEnc], contextEnc.length + 1);
    expect(bos[0][0]).toBeCloseTo(refBos.ll, 3);
    expect(Math.abs(bos[0][0] - res[0][0])).toBeGreaterThan(1e-6);
  });

  test("the positions-only projection equals rows of the full log_softmax", { timeout: 60_000 }, () => {
    const m = lm.model;
    const ids = [tok.encode("Question: Which organ makes insulin?\nAnswer: the pancreas").slice(0, 12)];
    const T = ids[0].length;
    const pos = [0, 5, T - 2, T - 1];
    const fast = m.logProbsAt(ids, pos);
    const full = m.logProbs(ids);
    const V = m.config.vocab_size;
    const a = fast.dataSync();
    const b = full.dataSync();
    for (const [r, p] of pos.entries())
      for (const v of [0, 1, 319, 4874, V - 1]) expect(a[r * V + v]).toBeCloseTo(b[p * V + v], 4);
    fast.dispose();
    full.dispose();
    expect(() => m.logProbsAt(ids, [T])).toThrow(/outside/);
  });

  test("rolling perplexity windows equal a per-window naive computation", { timeout: 60_000 }, async () => {
    const short = new LlamaLM(lm.model, tok, { maxLength: 16, id: "tiny-16" });
    const text =
      "Dyschesia can be provoked by inappropriate defecation movements. The aim of this prospective study was to demonstrate dysfunction of the anal sphincter.";
    const ids = tok.encode(text);
    expect(ids.length).toBeGreaterThan(32);
    let ref = 0;
    for (const w of getRollingTokenWindows(ids, tok.bosId, 16).map(makeDisjointWindow)) {
      const [c, p] = w;
      const whole = [...c, ...p];
      ref += naive(lm.model, whole, c.length).ll;
    }
    const [ll] = await loglikelihoodRolling(short, [text], { batchSize: 2 });
    expect(ll).toBeCloseTo(ref, 2);
  });

  test("a tokenizer larger than the model's vocabulary is refused", () => {
    const fake = {
      config: { ...LLAMA_PRESETS["tiny-llama"], vocab_size: 1000 },
    } as unknown as LlamaForCausalLM;
    expect(() => new LlamaLM(fake, tok)).toThrow(ModelLoadError);
    expect(() => new LlamaLM(fake, tok)).toThrow(
      /tokenizer has 32000 tokens but the model's vocab_size is 1000/,
    );
  });

  test("a directory without config.json is a one-line ModelLoadError", async () => {
    await expect(loadLlamaLM(tmpdir())).rejects.toThrow(/config\.json: not found/);
  });
});
