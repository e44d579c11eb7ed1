import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { IGNORE_INDEX, LlamaForCausalLM, resolveConfig, setBackend } from "@biomed-llama/llama-model";
import {
  LlamaTokenizer,
  IGNORE_INDEX as TOKENIZER_IGNORE_INDEX,
  truncateSequences,
} from "@biomed-llama/tokenizer";
import { beforeAll, describe, expect, test } from "vitest";
import { finetuneSequences, readInstructMix } from "../src/data-sources";
import { DataFormatError } from "../src/errors";
import { readMedqa } from "../src/mcqa-readers";
import { mcqaPromptCompletion, tokenizePromptCompletion } from "../src/supervised-sequences";
import { tmp } from "./helpers/tiny-run";

const fx = (f: string) => join(__dirname, "fixtures", f);
let tok: LlamaTokenizer;

beforeAll(async () => {
  tok = await LlamaTokenizer.load();
});

describe("prompt masking with the real LLaMA tokenizer", () => {
  test("only the answer and EOS carry labels; the prompt is -100", () => {
    const sample = readMedqa(fx("medqa-sample.jsonl"))[1];
    const pc = mcqaPromptCompletion(sample);
    const seq = tokenizePromptCompletion(tok, pc, 4096)!;
    const promptIds = tok.encode(pc.prompt, { bos: true });
    expect(seq.inputIds[0]).toBe(1); // BOS
    const firstLabel = seq.labels.findIndex((l) => l !== IGNORE_INDEX);
    expect(firstLabel).toBe(promptIds.length);
    expect([...seq.labels.subarray(0, firstLabel)].every((l) => l === IGNORE_INDEX)).toBe(true);
    const answerIds = [...seq.labels.subarray(firstLabel)];
    expect(answerIds[answerIds.length - 1]).toBe(tok.eosId);
    expect(tok.decode(answerIds.slice(0, -1)).trim()).toBe("Cross-linking of DNA");
    expect([...seq.inputIds.subarray(firstLabel)]).toEqual(answerIds);
  });

  test("a cut at seq_len keeps the answer's head; a cut inside the prompt drops the example", () => {
    const pc = { prompt: "### Question: Why?\n### Options: (A) yes (B) no\n### Answer:", completion: " yes" };
    const n = tok.encode(pc.prompt, { bos: true }).length;
    const cut = tokenizePromptCompletion(tok, pc, n + 1)!;
    expect(cut.labels.length).toBe(n + 1);
    expect(cut.labels.filter((l) => l !== IGNORE_INDEX)).toHaveLength(1);
    expect(tokenizePromptCompletion(tok, pc, n)).toBeNull();
  });

  test("finetune sequences are padded to seq_len with -100 labels; over-long examples are counted", () => {
    const src = finetuneSequences("pubmedqa", fx("pubmedqa-sample.json"), tok, 1024);
    expect(src.numSequences).toBe(3);
    const s = src.get(0);
    expect(s.inputIds.length).toBe(1024);
    const labelled = [...s.labels].filter((l) => l !== IGNORE_INDEX);
    expect(tok.decode(labelled.slice(0, -1)).trim()).toBe("yes");
    const lengths = [0, 1, 2].map((i) => [...src.get(i).labels].findIndex((l) => l !== IGNORE_INDEX));
    const mid = [...lengths].sort((a, b) => a - b)[1] + 1; // cuts the longest prompt, keeps the shortest
    const short = finetuneSequences("pubmedqa", fx("pubmedqa-sample.json"), tok, mid);
    expect(short.numSequences).toBe(lengths.filter((l) => l < mid).length);
    expect(short.dropped).toBe(3 - short.numSequences);
    expect(short.dropped).toBeGreaterThan(0);
    expect(() => finetuneSequences("pubmedqa", fx("pubmedqa-sample.json"), tok, 16)).toThrow(
      /no example keeps any answer token/,
    );
  });

  test("the masked loss equals the mean negative log-prob of the answer tokens (via logProbs)", async () => {
    await setBackend("cpu");
    const model = new LlamaForCausalLM(
      resolveConfig({
        vocab_size: tok.vocabSize,
        hidden_size: 16,
        intermediate_size: 32,
        num_hidden_layers: 1,
        num_attention_heads: 2,
        max_position_embeddings: 128,
      }),
      { seed: 1 },
    );
    const seq = tokenizePromptCompletion(
      tok,
      { prompt: "### Question: Is it?\n### Answer:", completion: " maybe" },
      128,
    )!;
    const { loss, tokens } = await model.loss([seq.inputIds], [seq.labels]);
    const lp = model.logProbs([seq.inputIds]);
    const lpData = (await lp.array())[0];
    lp.dispose();
    let sum = 0;
    let count = 0;
    for (let t = 1; t < seq.labels.length; t++)
      if (seq.labels[t] !== IGNORE_INDEX) {
        sum -= lpData[t - 1][seq.labels[t]];
        count++;
      }
    expect(tokens).toBe(count);
    expect(loss).toBeCloseTo(sum / count, 4);
    model.dispose();
  });
});

// llama-model owns -100 (its loss gives the value its meaning); the tokenizer, which must not depend on the
// model, pads its sequences with its own copy. The trainer is where the two meet, so it pins them together.
describe("IGNORE_INDEX: the tokenizer's padding label is the one the model's loss skips", () => {
  test("both are HF's ignore_index, and padding from truncateSequences adds nothing to the loss", async () => {
    expect(TOKENIZER_IGNORE_INDEX).toBe(IGNORE_INDEX);
    expect(IGNORE_INDEX).toBe(-100);
    await setBackend("cpu");
    const docs = [
      [1, 5, 9, 13, 2],
      [1, 7, 2],
    ];
    const padded = truncateSequences(
      { sizes: docs.map((d) => d.length), get: (i) => docs[i] },
      { seqLen: 8, padId: 0, eosId: 2 },
    );
    const model = new LlamaForCausalLM(
      resolveConfig({
        vocab_size: 32,
        hidden_size: 16,
        intermediate_size: 32,
        num_hidden_layers: 1,
        num_attention_heads: 2,
        max_position_embeddings: 16,
      }),
      { seed: 1 },
    );
    for (let i = 0; i < docs.length; i++) {
      const s = padded.get(i);
      expect([...s.labels.subarray(docs[i].length)].every((l) => l === TOKENIZER_IGNORE_INDEX)).toBe(true);
      const withPadding = await model.loss([s.inputIds], [s.labels], { reduction: "sum" });
      const bare = await model.loss([docs[i]], [docs[i]], { reduction: "sum" });
      expect(withPadding.tokens).toBe(docs[i].length - 1);
      expect(withPadding.tokens).toBe(bare.tokens);
      expect(withPadding.loss).toBeCloseTo(bare.loss, 4);
    }
    model.dispose();
  });
});

describe("instruct-mixer records", () => {
  test("records render with the mixer's template and mask the prompt", () => {
    const f = join(tmp("mix"), "mix.jsonl");
    writeFileSync(
      f,
      `${JSON.stringify({ source: "usmleqa/train", instruction: "Answer the question.", input: "What is 2+2?", output: "4" })}\n`,
    );
    const [pc] = readInstructMix(f);
    expect(pc.prompt).toContain("Answer the question.");
    expect(pc.prompt).toContain("What is 2+2?");
    expect(pc.completion.trim()).toBe("4");
    const src = finetuneSequences("instruct", f, tok, 256);
    const s = src.get(0);
    const labelled = [...s.labels].filter((l) => l !== IGNORE_INDEX);
    expect(labelled[labelled.length - 1]).toBe(tok.eosId);
    expect(tok.decode(labelled.slice(0, -1)).trim()).toBe("4");
  });

  test("a record without output names file and line", () => {
    const f = join(tmp("mix"), "bad.jsonl");
    writeFileSync(f, `${JSON.stringify({ source: "x", instruction: "i", input: "" })}\n`);
    expect(() => readInstructMix(f)).toThrow(DataFormatError);
    expect(() => readInstructMix(f)).toThrow(/bad\.jsonl:1: field "output" must be a string/);
  });
});
