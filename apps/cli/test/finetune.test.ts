import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { initHFCheckpoint, resolveConfig } from "@biomed-llama/llama-model";
import { LlamaTokenizer } from "@biomed-llama/tokenizer";
import { expect, test } from "vitest";

const cli = fileURLToPath(new URL("../dist/cli.js", import.meta.url));
const run = promisify(execFile);
// small upstream-format samples vendored (with their MIT licenses) by the trainer package
const medqa = fileURLToPath(
  new URL("../../../packages/trainer/test/fixtures/medqa-sample.jsonl", import.meta.url),
);

const common = [
  "--model",
  "tiny-llama",
  "--seq-len",
  "512",
  "--global-batch",
  "2",
  "--micro-batch",
  "1",
  "--max-steps",
  "2",
  "--warmup-steps",
  "1",
  "--data-order",
  "sequential",
  "--backend",
  "wasm",
];

test("finetune --task medqa: the loss counts exactly the answer + EOS tokens of the seed's prompt", async () => {
  const out = join(mkdtempSync(join(tmpdir(), "cli-ft-")), "run");
  await run(process.execPath, [
    cli,
    "finetune",
    "--task",
    "medqa",
    "--data",
    medqa,
    "--out",
    out,
    ...common,
    "--max-steps",
    "1",
  ]);
  const steps = readFileSync(join(out, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  expect(steps).toHaveLength(1);
  // independent count: answer tokens = |BOS + prompt + " " + answer| - |BOS + prompt|, plus EOS
  const tok = await LlamaTokenizer.load();
  const recs = readFileSync(medqa, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  const answerTokens = recs.map((r) => {
    const prompt = `### Question: ${r.question}\n### Options: ${Object.keys(r.options)
      .sort()
      .map((k) => `(${k}) ${r.options[k]}`)
      .join(" ")}\n### Answer:`;
    return (
      tok.encode(`${prompt} ${r.answer}`, { bos: true }).length - tok.encode(prompt, { bos: true }).length + 1
    );
  });
  expect(steps[0].step_tokens).toBe(answerTokens[0] + answerTokens[1]);
  const ckpt = join(out, "checkpoints", "step-00000001");
  const manifest = JSON.parse(readFileSync(join(ckpt, "manifest.json"), "utf8"));
  expect(manifest.kind).toBe("finetune:medqa");
  expect(manifest.config).toMatchObject({ weight_decay: 1e-4, lr: 2e-5 }); // the seed's fine-tuning defaults
  expect(readdirSync(ckpt)).toContain("model.safetensors");
});

test("finetune --task instruct reads instruct-mix JSONL; bad records fail in one line naming the line", async () => {
  const d = mkdtempSync(join(tmpdir(), "cli-ft-"));
  const mix = join(d, "mix.jsonl");
  const rec = {
    source: "usmleqa/train",
    instruction: "Answer the question.",
    input: "What organ makes insulin?",
    output: "The pancreas.",
  };
  writeFileSync(
    mix,
    `${JSON.stringify(rec)}\n${JSON.stringify({ ...rec, output: "Pancreatic beta cells." })}\n`,
  );
  await run(process.execPath, [
    cli,
    "finetune",
    "--task",
    "instruct",
    "--data",
    mix,
    "--out",
    join(d, "run"),
    ...common,
    "--max-steps",
    "1",
  ]);
  const [step] = readFileSync(join(d, "run", "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  expect(step.step_tokens).toBeGreaterThan(2);
  expect(step.step_tokens).toBeLessThan(20); // only the two short answers + EOS, not the prompts

  const bad = join(d, "bad.jsonl");
  writeFileSync(bad, `${JSON.stringify(rec)}\n{"source":"x","instruction":"i","input":""}\n`);
  const err = await run(process.execPath, [
    cli,
    "finetune",
    "--task",
    "instruct",
    "--data",
    bad,
    "--out",
    join(d, "r2"),
    ...common,
  ]).then(
    () => null,
    (e) => e,
  );
  expect(err?.code).toBe(1);
  expect(err.stderr.trim()).toMatch(/^biomed-llama: .*bad\.jsonl:2: field "output" must be a string$/);
});

test("a tokenizer with more pieces than the model's vocabulary is refused before anything is tokenized", async () => {
  const d = mkdtempSync(join(tmpdir(), "cli-ft-"));
  const hf = join(d, "small-vocab");
  await initHFCheckpoint(
    resolveConfig({
      vocab_size: 96,
      hidden_size: 32,
      intermediate_size: 64,
      num_hidden_layers: 1,
      num_attention_heads: 4,
      max_position_embeddings: 512,
    }),
    hf,
  );
  const out = join(d, "run");
  const args = ["finetune", "--task", "medqa", "--data", medqa, "--out", out, "--init-from", hf];
  const e = await run(process.execPath, [cli, ...args, ...common.slice(2)]).then(
    () => null,
    (err) => err,
  );
  expect(e?.code).toBe(1);
  expect(e.stderr.trim().split("\n")).toEqual([
    `biomed-llama: --tokenizer (LLaMA's): 32000 pieces, more than the vocab_size 96 of ${hf}`,
  ]);
  expect(existsSync(out)).toBe(false);
});
