import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { DataFormatError } from "../src/errors";
import { readMedmcqa, readMedqa, readPubmedqa } from "../src/mcqa-readers";
import { mcqaPromptCompletion, trimToLastLabel } from "../src/supervised-sequences";

const fx = (f: string) => join(__dirname, "fixtures", f);

describe("readers on the real release formats", () => {
  test("MedQA: options by letter, answer_idx → the answer text", () => {
    const s = readMedqa(fx("medqa-sample.jsonl"));
    expect(s).toHaveLength(4);
    expect(s[0].options).toHaveLength(5);
    expect(s.map((x) => x.answerIndex)).toEqual([2, 4, 2, 3]);
    expect(s[0].options[s[0].answerIndex]).toBe(
      "Tell the attending that he cannot fail to disclose this mistake",
    );
    expect(s[1].options[s[1].answerIndex]).toBe("Cross-linking of DNA");
  });

  test("MedMCQA: cop is 1-based (1 = opa)", () => {
    const s = readMedmcqa(fx("medmcqa-sample.jsonl"));
    expect(s.map((x) => x.answerIndex)).toEqual([0, 0, 2, 2]);
    expect(s[0].options[0]).toMatch(/^Impulse through myelinated fibers is slower/);
  });

  test("PubMedQA: keyed by PMID, contexts joined, yes/no/maybe", () => {
    const s = readPubmedqa(fx("pubmedqa-sample.json"));
    expect(s.map((x) => x.id)).toEqual(["21645374", "16418930", "9488747"]);
    expect(s.map((x) => x.options[x.answerIndex])).toEqual(["yes", "no", "yes"]);
    expect(s[0].context?.split("\n").length).toBeGreaterThan(1);
  });

  test("bad records name file and line", () => {
    const dir = mkdtempSync(join(tmpdir(), "mcqa-"));
    const f = join(dir, "x.jsonl");
    writeFileSync(
      f,
      `{"question":"q","opa":"a","opb":"b","opc":"c","opd":"d","cop":1}\n{"question":"q","opa":"a","opb":"b","opc":"c","opd":"d","cop":0}\n`,
    );
    expect(() => readMedmcqa(f)).toThrow(DataFormatError);
    expect(() => readMedmcqa(f)).toThrow(/x\.jsonl:2: field "cop" must be 1..4/);
  });
});

describe("seed prompt format", () => {
  test("MCQA prompt and completion, byte for byte", () => {
    const pc = mcqaPromptCompletion({ question: "Q?", options: ["x", "y"], answerIndex: 1 });
    expect(pc.prompt).toBe("### Question: Q?\n### Options: (A) x (B) y\n### Answer:");
    expect(pc.completion).toBe(" y");
    const ctx = mcqaPromptCompletion({
      question: "Q?",
      options: ["yes", "no", "maybe"],
      answerIndex: 2,
      context: "C1\nC2",
    });
    expect(ctx.prompt).toBe(
      "### Context: C1\nC2\n### Question: Q?\n### Options: (A) yes (B) no (C) maybe\n### Answer:",
    );
  });

  test("trimToLastLabel keeps every labelled position and cuts the rest", () => {
    const mk = (labels: number[]) => ({
      inputIds: Int32Array.from(labels.map((_, i) => i + 10)),
      labels: Int32Array.from(labels),
    });
    const out = trimToLastLabel([mk([-100, 5, 6, -100, -100, -100]), mk([-100, -100, -100, 7, -100, -100])]);
    expect(out.map((s) => [...s.labels])).toEqual([
      [-100, 5, 6, -100],
      [-100, -100, -100, 7],
    ]);
    expect([...out[0].inputIds]).toEqual([10, 11, 12, 13]);
  });
});
