import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { evaluateTasks } from "../src/evaluate.js";
import { countBytes, countWords } from "../src/metrics.js";
import { buildResults, compareTable, makeTable, writeResultsDir } from "../src/results.js";
import type { MultipleChoiceTaskDef } from "../src/task.js";
import { getTask, resolveTasks } from "../src/tasks/index.js";
import { BigramLM } from "./helpers/toy-lm.js";

const DATA = new URL("../data", import.meta.url).pathname;

function makeLM(maxLength = 4096) {
  const lm = new BigramLM(257, maxLength);
  lm.hashed = true;
  return lm;
}

/** Independent reference: score each option by the naive bigram sum, pick argmaxes by hand. */
async function reference(lm: BigramLM, name: string) {
  const t = getTask(name) as MultipleChoiceTaskDef;
  const docs = await t.splits[t.testSplit].load(DATA);
  const acc: number[] = [];
  const accNorm: number[] = [];
  for (const doc of docs) {
    const ctx = (t.description ?? "") + t.docToText(doc);
    const ctxIds = lm.encode(ctx);
    const choices = t.docToChoice(doc);
    const lls = choices.map((c) =>
      lm.ll(ctxIds.at(-1) as number, lm.encode(ctx + t.targetDelimiter + c).slice(ctxIds.length)),
    );
    const best = (xs: number[]) => xs.indexOf(Math.max(...xs));
    acc.push(best(lls) === t.docToTarget(doc) ? 1 : 0);
    accNorm.push(best(lls.map((l, i) => l / choices[i].length)) === t.docToTarget(doc) ? 1 : 0);
  }
  return { acc, accNorm };
}

const stderr01 = (xs: number[]) => {
  const p = xs.reduce((a, b) => a + b, 0) / xs.length;
  return Math.sqrt((p * (1 - p)) / (xs.length - 1));
};

describe("evaluateTasks end to end on the vendored data with a bigram model", () => {
  test("acc / acc_norm / stderr equal an independent per-option computation", async () => {
    const lm = makeLM();
    const names = ["medqa_4options", "medmcqa", "usmleqa", "mmlu_anatomy"];
    const res = await evaluateTasks(lm, resolveTasks(names), { dataDir: DATA, batchSize: 4 });
    for (const [i, name] of names.entries()) {
      const ref = await reference(makeLM(), name);
      const m = res[i].metrics;
      const p = ref.acc.reduce((a, b) => a + b, 0) / ref.acc.length;
      expect(m["acc,none"]).toBeCloseTo(p, 12);
      expect(m["acc_stderr,none"]).toBeCloseTo(stderr01(ref.acc), 12);
      if (name !== "mmlu_anatomy") {
        const pn = ref.accNorm.reduce((a, b) => a + b, 0) / ref.accNorm.length;
        expect(m["acc_norm,none"]).toBeCloseTo(pn, 12);
        expect(m["acc_norm_stderr,none"]).toBeCloseTo(stderr01(ref.accNorm), 12);
      } else {
        expect(m["acc_norm,none"]).toBeUndefined();
      }
      expect(res[i].samples).toHaveLength(20);
    }
    // Letter tasks: all four options share their input, so each doc is one forward pass.
    const medqaRows = lm.rowsSeen.flat().filter((r) => r.queries.length === 4);
    expect(medqaRows.length).toBeGreaterThanOrEqual(20 + 20 + 20);
  });

  test("word/byte perplexity and bits per byte are corpus ratios over the Pile-format sample", async () => {
    const lm = makeLM(64); // small max length: documents span several windows
    const [r] = await evaluateTasks(lm, [getTask("pile_pubmed_abstracts")], { dataDir: DATA });
    const texts = readFileSync(join(DATA, "pile/test.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l))
      .filter((d) => d.meta.pile_set_name === "PubMed Abstracts")
      .map((d) => d.text as string);
    expect(texts).toHaveLength(20);
    expect(r.nSamples).toEqual({ original: 20, effective: 20 });
    let ll = 0;
    let words = 0;
    let bytes = 0;
    for (const t of texts) {
      ll += lm.ll(lm.bosId, lm.encode(t));
      words += countWords(t);
      bytes += countBytes(t);
    }
    expect(r.metrics["word_perplexity,none"]).toBeCloseTo(Math.exp(-ll / words), 6);
    expect(r.metrics["byte_perplexity,none"]).toBeCloseTo(Math.exp(-ll / bytes), 9);
    expect(r.metrics["bits_per_byte,none"]).toBeCloseTo(-ll / bytes / Math.LN2, 9);
    expect(r.metrics["word_perplexity_stderr,none"]).toBe("N/A");
    // The EOS variant differs only in the first window's prefix token.
    const [e] = await evaluateTasks(makeLM(64), [getTask("pile_pubmed_abstracts_eos")], { dataDir: DATA });
    let llEos = 0;
    for (const t of texts) llEos += lm.ll(lm.eosId, lm.encode(t));
    expect(e.metrics["word_perplexity,none"]).toBeCloseTo(Math.exp(-llEos / words), 6);
  });

  test("a real .jsonl.zst Pile shard (read through pile-reader) gives the same numbers as the plain JSONL", async () => {
    const dir = mkdtempSync(join(tmpdir(), "eval-pile-"));
    mkdirSync(join(dir, "pile"));
    copyFileSync(join(DATA, "pile/test.jsonl.zst"), join(dir, "pile/test.jsonl.zst"));
    const [z] = await evaluateTasks(makeLM(64), [getTask("pile_pubmed_abstracts")], { dataDir: dir });
    const [p] = await evaluateTasks(makeLM(64), [getTask("pile_pubmed_abstracts")], { dataDir: DATA });
    expect(z.nSamples.effective).toBe(20);
    expect(z.metrics).toEqual(p.metrics);
  });

  test("--limit takes the first N docs", async () => {
    const [r] = await evaluateTasks(makeLM(), [getTask("pubmedqa")], { dataDir: DATA, limit: 7 });
    expect(r.nSamples).toEqual({ original: 20, effective: 7 });
    expect(r.samples.map((s) => s.doc_id)).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });
});

describe("results files", () => {
  test("lm-eval keys, samples lines, markdown table", async () => {
    const lm = makeLM();
    const tasks = resolveTasks("pubmedqa,pile_pubmed_abstracts");
    const tr = await evaluateTasks(lm, tasks, { dataDir: DATA, limit: 5, numFewshot: 1 });
    const results = buildResults(tr, {
      model: "bigram",
      modelArgs: "pretrained=toy",
      batchSize: 1,
      limit: 5,
      addBos: false,
      fewshotSeed: 1234,
      maxLength: lm.maxLength,
      bosId: 1,
      eosId: 2,
      gitHash: "abc1234",
      startTime: 1000,
      endTime: 1010,
    });
    expect(Object.keys(results.results.pubmedqa).sort()).toEqual(["acc,none", "acc_stderr,none", "alias"]);
    expect(results["n-shot"]).toEqual({ pubmedqa: 1, pile_pubmed_abstracts: 0 });
    expect(results["n-samples"].pubmedqa).toEqual({ original: 20, effective: 5 });
    expect(results.config.add_bos).toBe(false);
    expect(results.configs.pubmedqa.fewshot_config).toEqual({ sampler: "default", split_used: "train" });
    const dir = mkdtempSync(join(tmpdir(), "eval-out-"));
    const { resultsPath, samplePaths } = writeResultsDir(dir, results, tr, { logSamples: true });
    expect(JSON.parse(readFileSync(resultsPath, "utf8"))).toEqual(results);
    const lines = readFileSync(samplePaths[0], "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(5);
    expect(lines[0].arguments).toHaveLength(3);
    expect(lines[0].arguments[0][1]).toBe(" yes");
    expect(lines[0].arguments[0][0].endsWith("\nAnswer:")).toBe(true);
    expect(lines[0].resps[0][0]).toHaveLength(2);
    expect(typeof lines[0].acc).toBe("number");
    const sha = (x: string) => createHash("sha256").update(x).digest("hex");
    expect(lines[0].prompt_hash).toBe(sha(lines[0].arguments[0][0]));
    expect(lines[0].target_hash).toBe(sha(String(lines[0].target)));
    const table = makeTable(results).split("\n");
    expect(table[0]).toMatch(
      /^\|\s*Tasks\s*\|Version\|Filter\|n-shot\|\s*Metric\s*\|\s*\|\s*Value\s*\|\s*\|\s*Stderr\s*\|$/,
    );
    expect(table[1]).toMatch(/^\|-+\|-+:\|/);
    expect(table.find((l) => l.startsWith("|pubmedqa"))).toMatch(
      /\|acc\s*\|↑\s*\|\s*\d\.\d{4}\|±\s*\|\s*\d\.\d{4}\|$/,
    );
    expect(table.some((l) => /\|word_perplexity\s*\|↓/.test(l) && /N\/A\|$/.test(l))).toBe(true);
    const cmp = compareTable([results, results], ["m1", "m2"], { layout: "metrics" }).split("\n");
    expect(cmp[0]).toMatch(/^\|Task\s*\|Metric\s*\|\s*m1\|\s*m2\|$/);
    expect(cmp).toHaveLength(2 + 1 + 3);
    // BioMed-LLaMA's layout: a row per run, the headline number per task, shots in parentheses.
    const acc = results.results.pubmedqa["acc,none"] as number;
    const wppl = results.results.pile_pubmed_abstracts["word_perplexity,none"] as number;
    const runs = compareTable([results], ["BioMed-LLaMA-7B"]).split("\n");
    expect(runs[0]).toMatch(/^\|Model\s*\|Strategy\|\s*pubmedqa\|pile_pubmed_abstracts\|$/);
    expect(runs[2]).toBe(
      `|BioMed-LLaMA-7B|few-shot|${`${acc.toFixed(4)} (1)`.padStart(10)}|${wppl.toFixed(4).padStart(21)}|`,
    );
  });
});
