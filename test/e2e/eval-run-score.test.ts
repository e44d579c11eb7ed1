import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { expect, test } from "vitest";

// biomed-llama init (llama-model + tokenizer) → biomed-eval run / score / compare (evaluator).
const exec = promisify(execFile);
const bin = (app: string) => fileURLToPath(new URL(`../../apps/${app}/dist/cli.js`, import.meta.url));
const node = (app: string, args: string[]) =>
  exec(process.execPath, [bin(app), ...args], { encoding: "utf8", maxBuffer: 1 << 26 });

test("a BF16 checkpoint from `biomed-llama init` evaluates; `score` reproduces the logged sample log-likelihoods", async () => {
  const work = mkdtempSync(join(tmpdir(), "e2e-eval-"));
  const model = join(work, "ckpt");
  await node("cli", ["init", "--preset", "tiny-llama", "--out", model, "--seed", "11", "--dtype", "BF16"]);

  const out = join(work, "run");
  const { stdout } = await node("eval", [
    "run",
    ...[
      "--model",
      model,
      "--tasks",
      "pubmedqa_biomedllama,mmlu_anatomy",
      "--num-fewshot",
      "1",
      "--limit",
      "2",
    ],
    ...["--batch-size", "2", "--backend", "wasm", "--output", out, "--log-samples", "--json"],
  ]);
  const r = JSON.parse(stdout);
  expect(r["n-shot"]).toEqual({ pubmedqa_biomedllama: 1, mmlu_anatomy: 1 });
  expect(r.configs.mmlu_anatomy.fewshot_config.split_used).toBe("dev");
  expect(r.configs.pubmedqa_biomedllama.fewshot_config.split_used).toBe("all");
  expect(r.config.model_args).toContain("tokenizer.model");

  // Feed the logged (context, continuation) pairs back through `score`: same numbers.
  const samples = readFileSync(join(out, "samples_pubmedqa_biomedllama.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  const reqFile = join(work, "reqs.jsonl");
  const pairs = samples.flatMap((s) =>
    s.arguments.map(([context, continuation]: string[]) => ({ context, continuation })),
  );
  expect(pairs.map((p) => p.continuation).slice(0, 3)).toEqual(["Yes", "No", "Maybe"]);
  writeFileSync(reqFile, `${pairs.map((p) => JSON.stringify(p)).join("\n")}\n`);
  const scored = (
    await node("eval", ["score", "--model", model, "--requests", reqFile, "--backend", "wasm"])
  ).stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  const logged = samples.flatMap((s) => s.filtered_resps.map((x: [number, boolean]) => x));
  expect(scored).toHaveLength(logged.length);
  for (const [i, s] of scored.entries()) {
    expect(s.logprob).toBeCloseTo(logged[i][0], 4);
    expect(s.is_greedy).toBe(logged[i][1]);
  }

  const table = (await node("eval", ["table", join(out, "results.json")])).stdout;
  expect(table.split("\n")[0]).toMatch(/^\|Model\s*\|Strategy\|pubmedqa_biomedllama\|mmlu_anatomy\|$/);
  expect(table.split("\n")[2]).toMatch(/\|few-shot\|\s*[01]\.\d{4} \(1\)\|\s*[01]\.\d{4} \(1\)\|$/);
});
