// The README promises that the prompt's tokens are exactly a prefix of prompt + completion under
// LLaMA's real SentencePiece model, so a trainer masking |encode(prompt)| tokens masks the prompt
// and nothing else. Checked here on every bundled sample record with the real tokenizer.model.
import { LlamaTokenizer } from "@biomed-llama/tokenizer";
import { beforeAll, expect, test } from "vitest";
import { formatPrompt, loadMixConfig, loadMixSources, sampleMixConfigPath } from "../src/index.js";

let tok: LlamaTokenizer;
beforeAll(async () => {
  tok = await LlamaTokenizer.load();
});

test("encode(prompt) is a prefix of encode(prompt + completion) for every sample record", () => {
  const records = loadMixSources(loadMixConfig(sampleMixConfigPath())).flatMap((l) =>
    l.strata.flatMap((s) => s.records),
  );
  expect(records.length).toBe(55);
  for (const r of records) {
    const { prompt, completion } = formatPrompt(r);
    const p = tok.encode(prompt, { bos: true });
    const full = tok.encode(prompt + completion, { bos: true });
    expect(full.slice(0, p.length), r.source).toEqual(p);
    expect(p.at(-1), r.source).toBe(13); // the prompt ends on the newline byte token <0x0A>
    expect(tok.decode(full.slice(p.length))).toBe(completion);
  }
});
