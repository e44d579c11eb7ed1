// The results directory of a run: checked before any work (checkResultsDir), written whole or not at
// all (writeResultsDir), its request cache kept; and requests measured against the max length before
// any scoring (checkRequestLengths). Real files, the bundled data, a bigram LM.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { evaluateTasks, type PreparedTask, prepareTasks } from "../src/evaluate.js";
import { checkRequestLengths } from "../src/request-lengths.js";
import { buildResults, CACHE_FILE, checkResultsDir, writeResultsDir } from "../src/results.js";
import { resolveTasks } from "../src/tasks/index.js";
import { BigramLM } from "./helpers/toy-lm.js";

const DATA = new URL("../data", import.meta.url).pathname;

function makeLM(maxLength = 4096) {
  const lm = new BigramLM(257, maxLength);
  lm.hashed = true;
  return lm;
}

async function someResults() {
  const lm = makeLM();
  const tr = await evaluateTasks(lm, resolveTasks("pubmedqa"), { dataDir: DATA, limit: 3 });
  const results = buildResults(tr, {
    model: "bigram",
    modelArgs: "pretrained=toy",
    batchSize: 1,
    limit: 3,
    addBos: false,
    fewshotSeed: 1234,
    maxLength: lm.maxLength,
    bosId: 1,
    eosId: 2,
    startTime: 1,
    endTime: 2,
  });
  return { tr, results };
}

describe("results directory", () => {
  test("checkResultsDir: absent, empty and an interrupted run's folder pass; results need overwrite", () => {
    const root = mkdtempSync(join(tmpdir(), "results-dir-"));
    expect(checkResultsDir(join(root, "new", "deeper"))).toBe("absent");
    mkdirSync(join(root, "empty"));
    expect(checkResultsDir(join(root, "empty"))).toBe("empty");
    mkdirSync(join(root, "resume"));
    writeFileSync(join(root, "resume", CACHE_FILE), "");
    expect(checkResultsDir(join(root, "resume"))).toBe("resume");
    mkdirSync(join(root, "done"));
    writeFileSync(join(root, "done", "results.json"), "{}");
    expect(() => checkResultsDir(join(root, "done"))).toThrow(
      `--output ${join(root, "done")}: already exists and is not empty; pass --overwrite to replace it, or pick another path`,
    );
    expect(checkResultsDir(join(root, "done"), { overwrite: true })).toBe("replace");
    writeFileSync(join(root, "file"), "x");
    expect(() => checkResultsDir(join(root, "file"), { overwrite: true, flag: "--out" })).toThrow(
      `--out ${join(root, "file")}: exists and is not a directory; pick another path`,
    );
  });

  test("writeResultsDir replaces the folder as a whole, keeps the cache, leaves no temp files", async () => {
    const { tr, results } = await someResults();
    const root = mkdtempSync(join(tmpdir(), "results-write-"));
    const out = join(root, "run");
    mkdirSync(out);
    writeFileSync(join(out, CACHE_FILE), '{"k":"a","ll":-1,"g":true}\n');
    writeResultsDir(out, results, tr, { logSamples: true });
    expect(readdirSync(out).sort()).toEqual([
      CACHE_FILE,
      "results.json",
      "results.md",
      "samples_pubmedqa.jsonl",
    ]);
    expect(readFileSync(join(out, CACHE_FILE), "utf8")).toBe('{"k":"a","ll":-1,"g":true}\n');
    // A folder with results is not replaced without overwrite (another process may have written it).
    expect(() => writeResultsDir(out, results, tr)).toThrow(/--output .*run: was created by someone else/);
    expect(readdirSync(out)).toContain("samples_pubmedqa.jsonl");
    writeResultsDir(out, results, tr, { overwrite: true });
    expect(readdirSync(out).sort()).toEqual([CACHE_FILE, "results.json", "results.md"]);
    expect(JSON.parse(readFileSync(join(out, "results.json"), "utf8"))).toEqual(results);
    expect(readdirSync(root)).toEqual(["run"]);
  });
});

describe("checkRequestLengths", () => {
  test("a max length the user chose must hold every prompt + answer; the model's own cuts with a warning", async () => {
    const prepared = await prepareTasks(resolveTasks("pubmedqa,pile_pubmed_abstracts"), {
      dataDir: DATA,
      limit: 2,
    });
    expect(checkRequestLengths(makeLM(4096), prepared, { maxLengthFlag: "--max-length" })).toEqual([]);
    expect(() =>
      checkRequestLengths(makeLM(8), prepared, { maxLengthFlag: "--max-length", maxPositions: 4096 }),
    ).toThrow(
      /^--max-length 8 is too small for task pubmedqa: 6 of 6 requests \(prompt \+ answer\) are longer, up to \d+ tokens; pass --max-length \d+ or more, or leave it out$/,
    );
    expect(() =>
      checkRequestLengths(makeLM(8), prepared, { maxLengthFlag: "--max-length", maxPositions: 8 }),
    ).toThrow(/leave --max-length out to use all 8 positions of the model/);
    const warnings = checkRequestLengths(makeLM(8), prepared);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^pubmedqa: 6 of 6 requests are longer than the model's 8 positions/);
    // An answer longer than the max length can never be scored, whoever chose the length.
    const toy = {
      kind: "mc",
      task: { name: "toy", targetDelimiter: " " },
      contexts: ["Question: which?\nAnswer:"],
      choices: [["one two three", "four"]],
    } as unknown as PreparedTask;
    expect(() => checkRequestLengths(makeLM(2), [toy])).toThrow(
      "max length 2 cannot hold task toy: an answer is 3 tokens long; pass a larger max length",
    );
  });
});
