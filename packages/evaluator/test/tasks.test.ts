import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { TaskDataError, UnknownTaskError } from "../src/errors.js";
import { prepareTasks } from "../src/evaluate.js";
import type { MultipleChoiceTaskDef } from "../src/task.js";
import { getTask, resolveTasks } from "../src/tasks/index.js";

const DATA = new URL("../data", import.meta.url).pathname;
const mc = (name: string) => getTask(name) as MultipleChoiceTaskDef;
const load = async (name: string, split?: string) => {
  const t = mc(name);
  return t.splits[split ?? t.testSplit].load(DATA);
};

describe("prompts match lm-eval's templates (golden strings written from the yaml/py files)", () => {
  test("medqa_4options: Question, lettered options, Answer:; letters scored; gold from answer_idx", async () => {
    const [d] = await load("medqa_4options");
    const t = mc("medqa_4options");
    const q = d.question as string;
    const o = d.options as Record<string, string>;
    expect(t.docToText(d)).toBe(`Question: ${q}\nA. ${o.A}\nB. ${o.B}\nC. ${o.C}\nD. ${o.D}\nAnswer:`);
    expect(q.startsWith("A junior orthopaedic surgery resident")).toBe(true);
    expect(o.A).toBe("Disclose the error to the patient and put it in the operative report");
    expect(t.docToChoice(d)).toEqual(["A", "B", "C", "D"]);
    expect(t.docToTarget(d)).toBe(1); // answer_idx "B" in the release
    expect(d.answer_idx).toBe("B");
  });

  test("medqa_5options lists E too", async () => {
    const [d] = await load("medqa_5options");
    expect(mc("medqa_5options").docToText(d)).toMatch(/\nD\. [^\n]+\nE\. [^\n]+\nAnswer:$/);
    expect(mc("medqa_5options").docToChoice(d)).toEqual(["A", "B", "C", "D", "E"]);
  });

  test("medmcqa: Question/Choices block; cop 1-4 of the release becomes index 0-3", async () => {
    const [d] = await load("medmcqa");
    expect(mc("medmcqa").docToText(d)).toBe(
      "Question: Which of the following is not true for myelinated nerve fibers:\nChoices:\n" +
        "A. Impulse through myelinated fibers is slower than non-myelinated fibers\n" +
        "B. Membrane currents are generated at nodes of Ranvier\n" +
        "C. Saltatory conduction of impulses is seen\n" +
        "D. Local anesthesia is effective only when the nerve is not covered by myelin sheath\nAnswer:",
    );
    expect(d.cop).toBe(1);
    expect(mc("medmcqa").docToTarget(d)).toBe(0);
  });

  test("pubmedqa: Abstract (contexts joined by newline), Question, Answer:; yes/no/maybe", async () => {
    const docs = await load("pubmedqa");
    expect(docs).toHaveLength(20);
    const d = docs[0];
    expect(d.PMID).toBe("12377809");
    const text = mc("pubmedqa").docToText(d);
    expect(
      text.startsWith("Abstract: Dyschesia can be provoked by inappropriate defecation movements."),
    ).toBe(true);
    expect(text.endsWith("\nQuestion: Is anorectal endosonography valuable in dyschesia?\nAnswer:")).toBe(
      true,
    );
    expect(text.split("\n")).toHaveLength((d.CONTEXTS as string[]).length + 2);
    expect(mc("pubmedqa").docToChoice(d)).toEqual(["yes", "no", "maybe"]);
    expect(mc("pubmedqa").targetDelimiter).toBe(" ");
    expect(mc("pubmedqa").docToTarget(d)).toBe(0);
  });

  test("mmlu_anatomy: subject description, stripped question, lettered choices", async () => {
    const [d] = await load("mmlu_anatomy");
    const t = mc("mmlu_anatomy");
    expect(t.description).toBe(
      "The following are multiple choice questions (with answers) about anatomy.\n\n",
    );
    expect(t.docToText(d)).toBe(
      "A lesion causing compression of the facial nerve at the stylomastoid foramen will cause ipsilateral\n" +
        "A. paralysis of the facial muscles.\nB. paralysis of the facial muscles and loss of taste.\n" +
        "C. paralysis of the facial muscles, loss of taste and lacrimation.\n" +
        "D. paralysis of the facial muscles, loss of taste, lacrimation and decreased salivation.\nAnswer:",
    );
    expect(t.docToTarget(d)).toBe(0);
    expect(getTask("mmlu_medical_anatomy")).toBe(t);
  });

  test("BioMed-LLaMA variants: usmleqa scores option texts; pubmedqa scores capitalised labels with no delimiter", async () => {
    const [d] = await load("usmleqa");
    const u = mc("usmleqa");
    expect(u.docToText(d)).toBe(`Question: ${d.question}\nAnswer:`);
    expect(u.docToChoice(d)[0]).toBe("Disclose the error to the patient and put it in the operative report");
    expect(u.targetDelimiter).toBe(" ");
    const p = mc("pubmedqa_biomedllama");
    const all = await load("pubmedqa_biomedllama");
    expect(all).toHaveLength(40); // the vendored 20 test + 20 other PQA-L items
    expect(p.docToChoice(all[0])).toEqual(["Yes", "No", "Maybe"]);
    expect(p.targetDelimiter).toBe("");
  });

  test("pubmedqa's few-shot split is PQA-L minus the test split", async () => {
    const train = await load("pubmedqa", "train");
    const test = await load("pubmedqa", "test");
    expect(train).toHaveLength(20);
    const testIds = new Set(test.map((d) => d.PMID));
    expect(train.some((d) => testIds.has(d.PMID))).toBe(false);
  });
});

describe("few-shot contexts equal lm-eval's sampler (fixture from scripts/gen-fewshot-fixture.py)", () => {
  const fx = JSON.parse(readFileSync(new URL("./fixtures/fewshot-contexts.json", import.meta.url), "utf8"));

  test("medqa_4options 3-shot from the evaluated split (no train file): k+1 drawn, current doc dropped", async () => {
    const [p] = await prepareTasks([getTask("medqa_4options")], { dataDir: DATA, numFewshot: 3, limit: 5 });
    if (p.kind !== "mc") throw new Error("expected mc");
    expect(p.fewshotSplit).toBe("test");
    expect(p.contexts).toEqual(fx.medqa_4options_3shot_from_test);
    for (const c of p.contexts) expect(c.split("\nAnswer:").length - 1).toBe(4);
  });

  test("pubmedqa 1-shot from train; mmlu 2-shot = first dev items", async () => {
    const [pm, mm] = await prepareTasks([getTask("pubmedqa"), getTask("mmlu_anatomy")], {
      dataDir: DATA,
      numFewshot: 1,
      limit: 5,
    });
    if (pm.kind !== "mc" || mm.kind !== "mc") throw new Error("expected mc");
    expect(pm.contexts).toEqual(fx.pubmedqa_1shot_from_train);
    const [mm2] = await prepareTasks([getTask("mmlu_anatomy")], { dataDir: DATA, numFewshot: 2, limit: 5 });
    if (mm2.kind !== "mc") throw new Error("expected mc");
    expect(mm2.contexts).toEqual(fx.mmlu_anatomy_2shot);
  });

  test("pubmedqa_biomedllama few-shot examples end in its doc_to_target ' yes'/' no'/' maybe'", async () => {
    const [p] = await prepareTasks([getTask("pubmedqa_biomedllama")], {
      dataDir: DATA,
      numFewshot: 2,
      limit: 3,
    });
    if (p.kind !== "mc") throw new Error("expected mc");
    expect(p.fewshotSplit).toBe("all");
    for (const c of p.contexts) {
      const parts = c.split("\n\n");
      expect(parts).toHaveLength(3);
      for (const ex of parts.slice(0, 2)) expect(ex).toMatch(/\nAnswer: (yes|no|maybe)$/);
      expect(parts[2]).toMatch(/\nAnswer:$/);
    }
  });

  test("same seed → same contexts; another seed → different ones", async () => {
    const opts = { dataDir: DATA, numFewshot: 3, limit: 8 };
    const [a] = await prepareTasks([getTask("medmcqa")], opts);
    const [b] = await prepareTasks([getTask("medmcqa")], opts);
    const [c] = await prepareTasks([getTask("medmcqa")], { ...opts, fewshotSeed: 7 });
    if (a.kind !== "mc" || b.kind !== "mc" || c.kind !== "mc") throw new Error("expected mc");
    expect(a.contexts).toEqual(b.contexts);
    expect(a.contexts).not.toEqual(c.contexts);
  });
});

describe("bad input fails with a typed one-line error naming the file or field", () => {
  test("unknown task", () => {
    expect(() => resolveTasks("medqa_4options,nope")).toThrow(UnknownTaskError);
    expect(() => resolveTasks("nope")).toThrow(/unknown task "nope"/);
  });

  test("groups expand; aliases resolve", () => {
    expect(resolveTasks("mmlu_medical").map((t) => t.name)).toHaveLength(6);
    expect(resolveTasks("pile_pubmed-abstracts")[0].name).toBe("pile_pubmed_abstracts");
  });

  test("missing data file", async () => {
    const empty = mkdtempSync(join(tmpdir(), "eval-data-"));
    await expect(prepareTasks([getTask("medmcqa")], { dataDir: empty })).rejects.toThrow(
      new RegExp(`${empty}/medmcqa/dev.json: data file not found`),
    );
  });

  test("wrong field names the line and the field", async () => {
    const dir = mkdtempSync(join(tmpdir(), "eval-data-"));
    const { mkdirSync } = await import("node:fs");
    mkdirSync(join(dir, "medmcqa"));
    writeFileSync(
      join(dir, "medmcqa", "dev.json"),
      '{"question":"q","opa":"a","opb":"b","opc":"c","opd":"d","cop":0}\n',
    );
    const err = await prepareTasks([getTask("medmcqa")], { dataDir: dir }).catch((e) => e);
    expect(err).toBeInstanceOf(TaskDataError);
    expect(err.message).toMatch(/dev\.json:1: field "cop" must be 1-4/);
  });
});
