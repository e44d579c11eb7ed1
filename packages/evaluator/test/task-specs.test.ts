import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { TaskDataError, TaskSpecError } from "../src/errors.js";
import { prepareTasks } from "../src/evaluate.js";
import type { MultipleChoiceTaskDef } from "../src/task.js";
import { buildTask, type MultipleChoiceTaskSpec, type TaskSpec } from "../src/task-spec.js";
import { TASK_SPECS, TASKS } from "../src/tasks/index.js";
import { compileTemplate } from "../src/template.js";

const DATA = new URL("../data", import.meta.url).pathname;
const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8"));

/** scripts/gen-prompt-fixture.py: lm-eval's (and BioMed-LLaMA's) prompt functions in Python. */
const golden: Record<
  string,
  Array<{ context: string; continuations: string[]; gold: number } | { target: string }>
> = fixture("lm-eval-prompts.json");

/** A data dir with one PubMed Central record (the vendored Pile sample has only abstracts). */
function pileCentralDir(): { dir: string; text: string } {
  const dir = mkdtempSync(join(tmpdir(), "eval-pile-"));
  mkdirSync(join(dir, "pile"));
  const text = "Background\n\nA full-text PubMed Central article, with  two spaces and a tab\there.";
  const lines = [
    { text: "not this one", meta: { pile_set_name: "PubMed Abstracts" } },
    { text, meta: { pile_set_name: "PubMed Central" } },
  ];
  writeFileSync(join(dir, "pile", "test.jsonl"), lines.map((l) => JSON.stringify(l)).join("\n"));
  return { dir, text };
}

describe("every spec renders lm-eval's requests for the first documents", () => {
  test("the golden file covers every task, and every task is built from a spec", () => {
    expect(Object.keys(golden).sort()).toEqual(TASK_SPECS.map((s) => s.task).sort());
    expect(TASKS.map((t) => t.name)).toEqual(TASK_SPECS.map((s) => s.task));
  });

  for (const spec of TASK_SPECS) {
    test(`${spec.task}: prompt, continuations and gold equal the Python reference byte for byte`, async () => {
      const want = golden[spec.task];
      const task = buildTask(spec);
      if (task.outputType === "loglikelihood_rolling") {
        if (want.length === 0) {
          const { dir, text } = pileCentralDir();
          const [p] = await prepareTasks([task], { dataDir: dir });
          expect(p.docs.map((d) => task.docToTarget(d))).toEqual([text]);
          return;
        }
        const [p] = await prepareTasks([task], { dataDir: DATA, limit: want.length });
        expect(p.docs.map((d) => ({ target: task.docToTarget(d) }))).toEqual(want);
        return;
      }
      expect(want.length).toBeGreaterThan(0);
      const [p] = await prepareTasks([task], { dataDir: DATA, limit: want.length });
      if (p.kind !== "mc") throw new Error("expected a multiple-choice task");
      // What evaluateTasks sends: (context, target delimiter + choice) per option.
      const got = p.docs.map((doc, i) => ({
        context: p.contexts[i],
        continuations: p.choices[i].map((c) => task.targetDelimiter + c),
        gold: task.docToTarget(doc),
      }));
      expect(got).toEqual(want);
    });
  }
});

describe("the few-shot goldens (scripts/gen-fewshot-fixture.py) are made of the specs' renderings", () => {
  const fx = fixture("fewshot-contexts.json");
  const cases: Array<[string, string, string]> = [
    ["medqa_4options_3shot_from_test", "medqa_4options", "test"],
    ["pubmedqa_1shot_from_train", "pubmedqa", "train"],
    ["mmlu_anatomy_2shot", "mmlu_anatomy", "dev"],
  ];
  for (const [key, name, fewshotSplit] of cases) {
    test(`${key}: description + examples (text, delimiter, gold choice, "\\n\\n") + prompt`, async () => {
      const spec = TASK_SPECS.find((s) => s.task === name) as MultipleChoiceTaskSpec;
      const task = buildTask(spec) as MultipleChoiceTaskDef;
      const docs = await task.splits[task.testSplit].load(DATA);
      const pool = await task.splits[fewshotSplit].load(DATA);
      const examples = pool.map(
        (d) => task.docToText(d) + task.targetDelimiter + task.docToChoice(d)[task.docToTarget(d)] + "\n\n",
      );
      const contexts: string[] = fx[key];
      contexts.forEach((ctx, i) => {
        const description = spec.description ?? "";
        expect(ctx.startsWith(description)).toBe(true);
        const prompt = task.docToText(docs[i]);
        expect(ctx.endsWith(prompt)).toBe(true);
        let rest = ctx.slice(description.length, ctx.length - prompt.length);
        let n = 0;
        while (rest.length > 0) {
          const ex = examples.find((e) => rest.startsWith(e));
          if (ex === undefined)
            throw new Error(`${key}[${i}]: no spec-rendered example starts ${rest.slice(0, 80)}`);
          rest = rest.slice(ex.length);
          n++;
        }
        expect(n).toBeGreaterThan(0);
      });
    });
  }
});

describe("the template language", () => {
  const doc = {
    question: "  What?\n",
    options: { A: "x", B: "y" },
    choices: ["p", "q"],
    CONTEXTS: ["one", "two"],
    cop: 3,
  };

  test("fields, members, items, strip, join, integer arithmetic, lists", () => {
    expect(compileTemplate("Q: {{question.strip()}}|{{ options.B }}|{{choices[1]}}").render(doc)).toBe(
      "Q: What?|y|q",
    );
    expect(compileTemplate('{{CONTEXTS | join("\\n")}}').render(doc)).toBe("one\ntwo");
    expect(compileTemplate("{{cop - 1}}").value(doc)).toBe(2);
    expect(compileTemplate("{{cop + 1}}!").value(doc)).toBe("4!");
    expect(compileTemplate("{{[options.A, choices[0], 'z']}}").value(doc)).toEqual(["x", "p", "z"]);
    expect(compileTemplate("no holes").render(doc)).toBe("no holes");
  });

  test("a missing field or a list in text is a data error naming the expression", () => {
    expect(() => compileTemplate("{{options.C}}").render(doc)).toThrow(TaskDataError);
    expect(() => compileTemplate("{{options.C}}").render(doc)).toThrow(/options\.C.* is missing/);
    expect(() => compileTemplate("{{CONTEXTS}}").render(doc)).toThrow(/a list \(join it\)/);
  });

  test("syntax outside the subset is refused when the spec is built", () => {
    expect(() => compileTemplate("{{question")).toThrow(TaskSpecError);
    expect(() => compileTemplate("{{question | upper}}")).toThrow(/unknown filter "upper"/);
    expect(() => compileTemplate("{{question.lower()}}")).toThrow(/only \.strip\(\)/);
    expect(() => compileTemplate("{{question * 2}}")).toThrow(/unexpected "\*"/);
  });
});

describe("buildTask refuses a spec it cannot run", () => {
  const base = TASK_SPECS.find((s) => s.task === "medqa_4options") as MultipleChoiceTaskSpec;

  test("unknown dataset path or split, bad template, wrong metrics", () => {
    const bad = (over: Partial<MultipleChoiceTaskSpec>) => () => buildTask({ ...base, ...over } as TaskSpec);
    expect(bad({ dataset_path: "medqa/nope.jsonl" })).toThrow(
      /dataset_path "medqa\/nope\.jsonl" has no reader/,
    );
    expect(bad({ test_split: "dev" })).toThrow(/test_split "dev" is not a split/);
    expect(bad({ doc_to_text: "{{question" })).toThrow(/medqa_4options: doc_to_text: template .*missing }}/);
    expect(bad({ doc_to_target: "answer idx" })).toThrow(/neither a field name nor a \{\{ \}\} template/);
    expect(bad({ metric_list: [] })).toThrow(/acc and\/or acc_norm/);
  });

  test("a data error while rendering names the task and the spec field", async () => {
    const task = buildTask({ ...base, doc_to_text: "{{question}} {{nope}}" }) as MultipleChoiceTaskDef;
    await expect(prepareTasks([task], { dataDir: DATA, limit: 1 })).rejects.toThrow(
      /medqa_4options: doc_to_text: nope: field "nope" is missing/,
    );
  });

  test("few-shot splits follow lm-eval: fewshot_split, else training/validation, else the test split", () => {
    const fs = (name: string) => (TASKS.find((t) => t.name === name) as MultipleChoiceTaskDef).fewshotSplits;
    expect(fs("medqa_4options")).toEqual(["train", "validation"]);
    expect(fs("medmcqa")).toEqual(["train"]); // its validation split is the evaluated one
    expect(fs("mmlu_anatomy")).toEqual(["dev"]);
    expect(fs("pubmedqa_biomedllama")).toEqual(["all"]);
  });
});
