import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { initHFCheckpoint, LLAMA_PRESETS } from "@biomed-llama/llama-model";
import { beforeAll, describe, expect, test } from "vitest";

const cli = fileURLToPath(new URL("../dist/cli.js", import.meta.url));
const exec = promisify(execFile);
const run = (args: string[]) =>
  exec(process.execPath, [cli, ...args], { encoding: "utf8", maxBuffer: 1 << 26 });
const runFail = async (args: string[]) => {
  try {
    await run(args);
  } catch (e) {
    return e as { code: number; stderr: string };
  }
  throw new Error("expected a non-zero exit");
};

let work: string;
let model: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "biomed-eval-cli-"));
  model = join(work, "tiny");
  await initHFCheckpoint(LLAMA_PRESETS["tiny-llama"], model, { seed: 5 });
}, 120_000);

describe("biomed-eval run on a tiny real checkpoint and the bundled data", () => {
  test("writes lm-eval keys with values in range; a second run resumes from the cache", {
    timeout: 300_000,
  }, async () => {
    const out = join(work, "run1");
    const args = [
      "run",
      ...["--model", model, "--tasks", "medqa_4options,pubmedqa,pile_pubmed_abstracts"],
      ...[
        "--limit",
        "2",
        "--batch-size",
        "4",
        "--backend",
        "wasm",
        "--output",
        out,
        "--log-samples",
        "--json",
      ],
    ];
    const first = await run(args);
    const r = JSON.parse(first.stdout);
    expect(JSON.parse(readFileSync(join(out, "results.json"), "utf8"))).toEqual(r);
    for (const t of ["medqa_4options", "pubmedqa"]) {
      const acc = r.results[t]["acc,none"];
      expect(acc).toBeGreaterThanOrEqual(0);
      expect(acc).toBeLessThanOrEqual(1);
      expect(r.results[t]["acc_stderr,none"]).toBeCloseTo(Math.sqrt((acc * (1 - acc)) / 1), 12); // n = 2
      expect(r.results[t].alias).toBe(t);
      expect(r["n-samples"][t].effective).toBe(2);
    }
    expect(Object.keys(r.results.medqa_4options)).toContain("acc_norm,none");
    const pile = r.results.pile_pubmed_abstracts;
    // A random 32000-token model: byte perplexity well above 1, bits per byte = log2(byte ppl).
    expect(pile["byte_perplexity,none"]).toBeGreaterThan(1);
    expect(pile["bits_per_byte,none"]).toBeCloseTo(Math.log2(pile["byte_perplexity,none"]), 9);
    expect(pile["word_perplexity,none"]).toBeGreaterThan(pile["byte_perplexity,none"]);
    expect(r.config.add_bos).toBe(false);
    expect(r.config.model_args).toContain(`pretrained=${model}`);
    expect(r["n-shot"].medqa_4options).toBe(0);
    expect(typeof r.date).toBe("number");
    expect(r.versions.pile_pubmed_abstracts).toBe(2);
    expect(first.stderr).toMatch(/requests \(100\.0%\) \| [\d.]+ req\/s \| [\d.]+ docs\/s \| ETA/);
    const samples = readFileSync(join(out, "samples_medqa_4options.jsonl"), "utf8").trim().split("\n");
    expect(samples).toHaveLength(2);
    const s0 = JSON.parse(samples[0]);
    expect(s0.arguments.map((a: string[]) => a[1])).toEqual([" A", " B", " C", " D"]);
    expect(s0.resps).toHaveLength(4);
    const md = readFileSync(join(out, "results.md"), "utf8");
    expect(md.split("\n")[0]).toMatch(/^\|\s*Tasks\s*\|Version\|Filter\|n-shot\|\s*Metric\s*\|/);

    // The results exist now: a rerun must say --overwrite; the request cache in the folder is kept.
    const second = await run([...args, "--overwrite"]);
    expect(second.stderr).toMatch(/answered from the cache/);
    const r2 = JSON.parse(second.stdout);
    expect(r2.results).toEqual(r.results);

    const bos = JSON.parse(
      (await run([...args.slice(0, -4), "--output", join(work, "bos"), "--add-bos", "--json"])).stdout,
    );
    expect(bos.config.add_bos).toBe(true);
    expect(bos.results.pile_pubmed_abstracts).toEqual(r.results.pile_pubmed_abstracts); // rolling ignores add-bos

    const two = [join(out, "results.json"), join(work, "bos", "results.json")];
    const cmp = await run(["compare", ...two, "--names", "plain,bos", "--by-metric"]);
    const lines = cmp.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^\|Task\s*\|Metric\s*\|\s*plain\|\s*bos\|$/);
    expect(lines).toHaveLength(2 + 6);
    // Default layout = BioMed-LLaMA's README table: a row per run, a column per task.
    const table = (await run(["table", ...two, "--names", "plain,bos"])).stdout.trim().split("\n");
    expect(table[0]).toMatch(/^\|Model\|Strategy\|medqa_4options\|pubmedqa\|pile_pubmed_abstracts\|$/);
    expect(table[2]).toMatch(/^\|plain\|0-shot\s*\|\s*[01]\.\d{4}\|\s*[01]\.\d{4}\|\s*\d+\.\d{4}\|$/);
  });

  test("score prints logprob and is_greedy per request line", { timeout: 120_000 }, async () => {
    const reqs = join(work, "reqs.jsonl");
    writeFileSync(reqs, `${JSON.stringify({ context: "Question: ok?\nAnswer:", continuation: " yes" })}\n`);
    const { stdout } = await run(["score", "--model", model, "--requests", reqs, "--backend", "wasm"]);
    const [line] = stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(line.continuation).toBe(" yes");
    expect(line.logprob).toBeLessThan(0);
    expect(typeof line.is_greedy).toBe("boolean");
  });
});

describe("bad input: one line on stderr, exit code 1, before any scoring", () => {
  test("unknown task, missing data, bad request line, missing model", { timeout: 60_000 }, async () => {
    const unknown = await runFail([
      "run",
      "--model",
      model,
      "--tasks",
      "medqa_4options,nope",
      "--output",
      join(work, "x"),
    ]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trim().split("\n")).toHaveLength(1);
    expect(unknown.stderr).toMatch(/^biomed-eval: unknown task "nope"/);
    const missing = await runFail([
      "run",
      "--model",
      model,
      "--tasks",
      "medmcqa",
      "--data-dir",
      work,
      "--output",
      join(work, "x"),
    ]);
    expect(missing.stderr).toMatch(/medmcqa\/dev\.json: data file not found/);
    const bad = join(work, "bad.jsonl");
    writeFileSync(bad, '{"context": "a"}\n');
    const badReq = await runFail(["score", "--model", model, "--requests", bad]);
    expect(badReq.stderr.trim()).toBe(`biomed-eval: ${bad}:1: field "continuation" missing or empty`);
    const noModel = await runFail([
      "run",
      "--model",
      work,
      "--tasks",
      "pubmedqa",
      "--output",
      join(work, "x"),
    ]);
    expect(noModel.stderr).toMatch(/config\.json: not found/);
    const small = join(work, "small-vocab");
    await initHFCheckpoint({ ...LLAMA_PRESETS["tiny-llama"], vocab_size: 1000 }, small, { seed: 1 });
    const vocab = await runFail([
      "run",
      "--model",
      small,
      "--tasks",
      "pubmedqa",
      "--output",
      join(work, "x"),
    ]);
    expect(vocab.stderr.trim()).toBe(
      "biomed-eval: tokenizer has 32000 tokens but the model's vocab_size is 1000: they do not belong together",
    );
    const badK = await runFail([
      "run",
      "--model",
      model,
      "--tasks",
      "pubmedqa",
      "--num-fewshot",
      "x",
      "--output",
      join(work, "x"),
    ]);
    expect(badK.stderr).toMatch(/--num-fewshot must be an integer/);
  });
});
