import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import {
  formatPrompt,
  loadAlpaca,
  loadExemplars,
  loadMedMCQA,
  loadMedQA,
  loadMmluCot,
  loadPubMedQA,
  SourceFormatError,
  sampleDataDir,
} from "../src/index.js";

const bad = (f: string) => fileURLToPath(new URL(`./fixtures/malformed/${f}`, import.meta.url));
const sample = (f: string) => join(sampleDataDir(), f);
const indices = (r: { malformed: { index: number }[] }) => r.malformed.map((m) => m.index);

describe("MedQA (JSONL: question, options{A..}, answer_idx)", () => {
  test("bundled upstream sample: 6 five-option questions, answers as (X) text", () => {
    const r = loadMedQA(sample("medqa/US/sample.jsonl"));
    expect(r.malformed).toEqual([]);
    expect(r.records).toHaveLength(6);
    expect(r.records.map((x) => x.output.slice(0, 4))).toEqual([
      "(C) ",
      "(E) ",
      "(C) ",
      "(D) ",
      "(B) ",
      "(E) ",
    ]);
    expect(r.records[0].output).toBe("(C) Tell the attending that he cannot fail to disclose this mistake");
    expect(r.records[0].source).toBe("usmleqa/train");
    expect(r.records[0].input).toMatch(/^### Question: A junior orthopaedic surgery resident/);
    expect(r.records[0].input).toContain(
      "### Options:\n(A) Disclose the error to the patient but leave it out of the operative report\n(B) ",
    );
    expect(r.records[0].input.split("\n").filter((l) => /^\([A-E]\) /.test(l))).toHaveLength(5);
  });

  test("malformed lines are reported with file and index, counted, and skipped", () => {
    const file = bad("medqa.jsonl");
    const r = loadMedQA(file);
    expect(r.records.map((x) => x.output)).toEqual(["(B) Pancreas", "(D) Left ventricle"]);
    expect(indices(r)).toEqual([1, 2, 4, 5, 6]);
    expect(r.malformed.every((m) => m.file === file)).toBe(true);
    expect(r.malformed[0].reason).toMatch(/line 2 is not valid JSON/);
    expect(r.malformed[1].reason).toMatch(/"question" is empty/);
    expect(r.malformed[2].reason).toMatch(/answer_idx.*"C"/);
    expect(r.malformed[3].reason).toMatch(/"answer" disagrees/);
    // options are listed in letter order even when the file lists them otherwise
    expect(r.records[1].input).toContain(
      "(A) Right atrium\n(B) Right ventricle\n(C) Left atrium\n(D) Left ventricle",
    );
  });

  test("strict mode throws a SourceFormatError naming file and record", () => {
    expect(() => loadMedQA(bad("medqa.jsonl"), { strict: true })).toThrow(SourceFormatError);
    expect(() => loadMedQA(bad("medqa.jsonl"), { strict: true })).toThrow(
      /medqa\.jsonl \[record 1\]: line 2/,
    );
  });

  test("a missing file is a SourceFormatError naming it", () => {
    expect(() => loadMedQA("/nonexistent/train.jsonl")).toThrow(
      /\/nonexistent\/train\.jsonl: file not found/,
    );
  });
});

describe("MedMCQA (JSON lines: opa..opd, cop 1-4)", () => {
  test("bundled release sample: cop 1 = opa", () => {
    const r = loadMedMCQA(sample("medmcqa/sample.json"));
    expect(r.records).toHaveLength(8);
    expect(r.malformed).toEqual([]);
    expect(r.records.map((x) => x.output.slice(0, 3))).toEqual([
      "(A)",
      "(A)",
      "(C)",
      "(C)",
      "(A)",
      "(A)",
      "(A)",
      "(B)",
    ]);
    expect(r.records[0].output).toBe(
      "(A) Impulse through myelinated fibers is slower than non-myelinated fibers",
    );
    expect(r.records[0].source).toBe("medmcqa/train");
  });

  test("malformed records carry the MedMCQA id", () => {
    const r = loadMedMCQA(bad("medmcqa.json"), { withExplanation: true });
    expect(r.records.map((x) => x.output)).toEqual([
      "(B) HbA\n\nExplanation: HbA (alpha2 beta2) makes up about 97% of adult haemoglobin.",
      "(D) Clotting factor synthesis",
    ]);
    expect(indices(r)).toEqual([1, 2, 3, 4, 5]);
    expect(r.malformed.map((m) => m.key)).toEqual(["m-2", "m-3", "m-4", "m-5", undefined]);
    expect(r.malformed[1].reason).toMatch(/"cop" \(0\) must be 1, 2, 3 or 4/);
    expect(r.malformed[2].reason).toMatch(/"opd" is missing/);
  });
});

describe("PubMedQA (JSON keyed by PMID)", () => {
  test("PQA-L sample: decisions become (A) yes / (B) no / (C) maybe, all contexts kept", () => {
    const r = loadPubMedQA(sample("pubmedqa/ori_pqal.sample.json"));
    expect(r.records.map((x) => x.output)).toEqual(["(A) yes", "(B) no", "(A) yes", "(B) no", "(A) yes"]);
    const first = r.records[0];
    expect(first.input).toMatch(/^### Abstract: Programmed cell death \(PCD\)/);
    expect(first.input).toContain(
      "\n\n### Question: Do mitochondria play a role in remodelling lace plant leaves",
    );
    expect(first.input).toMatch(/### Options:\n\(A\) yes\n\(B\) no\n\(C\) maybe$/);
    expect(first.input).toContain("The following paper elucidates"); // second CONTEXTS paragraph
  });

  test("pqa_artificial shape (no reasoning_* fields) loads the same way", () => {
    const r = loadPubMedQA(sample("pubmedqa/ori_pqaa.sample.json"), { withLongAnswer: true });
    expect(r.records).toHaveLength(5);
    expect(r.malformed).toEqual([]);
    expect(r.records[0].output).toMatch(/^\(A\) yes\n\n\S/);
  });

  test("malformed entries are keyed by PMID", () => {
    const r = loadPubMedQA(bad("pubmedqa.json"));
    expect(r.records.map((x) => x.output)).toEqual(["(A) yes", "(C) maybe"]);
    expect(r.malformed.map((m) => [m.index, m.key])).toEqual([
      [1, "101"],
      [2, "102"],
      [4, "104"],
      [5, "105"],
    ]);
    expect(r.malformed[1].reason).toMatch(/final_decision.*undefined.*yes\/no\/maybe/);
  });

  test("an array instead of the PMID object is rejected as a whole", () => {
    expect(() => loadPubMedQA(bad("alpaca.json"))).toThrow(
      /alpaca\.json: expected a JSON object keyed by PMID/,
    );
  });
});

describe("Alpaca-style arrays", () => {
  test("AlpacaDataCleaned and visual-med-alpaca samples; empty input selects the no-input template", () => {
    const a = loadAlpaca(sample("alpaca/alpaca_data_cleaned.sample.json"));
    const v = loadAlpaca(sample("visual-med-alpaca/med_alpaca_data_clean.sample.json"), {
      name: "visual-med-alpaca",
    });
    expect(a.records).toHaveLength(6);
    expect(v.records).toHaveLength(5);
    expect(a.records[0].source).toBe("AlpacaDataCleaned");
    expect(v.records[0].source).toBe("visual-med-alpaca");
    expect(formatPrompt(a.records[0]).prompt).not.toContain("### Input:");
    expect(formatPrompt(a.records[1]).prompt).toContain("### Input:\n37 degrees Celsius\n\n### Response:\n");
  });

  test("malformed entries by array index", () => {
    const r = loadAlpaca(bad("alpaca.json"));
    expect(r.records.map((x) => x.output)).toEqual(["Red.", "Fine."]);
    expect(r.records[1].input).toBe("");
    expect(indices(r)).toEqual([1, 2, 3, 5]);
  });
});

describe("MMLU chain-of-thought prompt file", () => {
  test("each few-shot block becomes one worked example", () => {
    const r = loadMmluCot(sample("mmlu-cot/mmlu-cot.sample.json"));
    expect(r.records).toHaveLength(15);
    expect(r.malformed).toEqual([]);
    for (const x of r.records) {
      expect(x.source).toBe("mmlu-cot");
      expect(x.input).toMatch(/^Q: [\s\S]+\n\(A\) /);
      expect(x.output).toMatch(/^Let's think step by step\.[\s\S]+The answer is \([A-D]\)\.$/);
      expect(x.input).not.toContain("\nA: ");
    }
    expect(r.records[0].instruction).toBe(
      "The following are multiple choice questions (with answers) about anatomy.",
    );
    expect(r.records[5].instruction).toMatch(/about college medicine\.$/);
  });

  test("subject filter and malformed blocks", () => {
    const r = loadMmluCot(bad("mmlu-cot.json"));
    expect(r.records.map((x) => x.output.slice(-17))).toEqual(
      ["The answer is (B).", "The answer is (C)."].map((s) => s.slice(-17)),
    );
    expect(r.malformed.map((m) => [m.index, m.key])).toEqual([
      [1, "virology#1"],
      [2, "virology#2"],
      [4, "broken"],
    ]);
    expect(loadMmluCot(bad("mmlu-cot.json"), { subjects: ["nutrition"] }).records).toHaveLength(1);
    expect(() => loadMmluCot(bad("mmlu-cot.json"), { subjects: ["astronomy"] })).toThrow(
      /no subject "astronomy"/,
    );
  });
});

describe("exemplar sets (biomed-llama.exemplars/v1)", () => {
  test("Med-PaLM sample: sub-set strata named like the seed's keys", () => {
    const r = loadExemplars(sample("exemplars/medpalm.sample.json"));
    expect(r.malformed).toEqual([]);
    expect(r.records.map((x) => x.source)).toEqual([
      "usmleqa/medpalm",
      "usmleqa/medpalm",
      "medmcqa/medpalm",
      "pubmedqa/medpalm",
      "liveqa/medpalm",
      "medicationqa/medpalm",
    ]);
    expect(r.records[1].output).toBe("(C) Vitamin C");
    expect(r.records[3].output).toBe("(A) yes");
    expect(r.records[4].input).toMatch(/^### Question: Is it safe to take ibuprofen/);
  });

  test("chain of thought precedes the answer; malformed exemplars are counted", () => {
    const r = loadExemplars(bad("exemplars.json"));
    expect(r.records.map((x) => [x.source, x.output])).toEqual([
      [
        "medmcqa/medpalm2-cot",
        "The deltoid is supplied by the axillary nerve (C5, C6).\nThe answer is (B) Axillary.",
      ],
      ["medpalm2-cot", "A free answer."],
      ["pubmedqa/medpalm2-cot", "Results were mixed.\nThe answer is (C) maybe."],
    ]);
    expect(r.records[0].instruction).toMatch(/Think step by step before giving the final answer\.$/);
    expect(r.records[1].instruction).toBe("Answer briefly.");
    expect(indices(r)).toEqual([1, 2, 3, 4]);
  });

  test("a file without the format tag is rejected as a whole", () => {
    expect(() => loadExemplars(bad("pubmedqa.json"))).toThrow(
      /expected \{"format": "biomed-llama\.exemplars\/v1"/,
    );
  });
});
