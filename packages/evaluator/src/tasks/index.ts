import { UnknownTaskError } from "../errors.js";
import type { TaskDef } from "../task.js";
import { buildTask, type TaskSpec } from "../task-spec.js";
import { medmcqa } from "./medmcqa.js";
import { medmcqa_biomedllama } from "./medmcqa_biomedllama.js";
import { medqa_4options } from "./medqa_4options.js";
import { medqa_5options } from "./medqa_5options.js";
import { MMLU_MEDICAL_SUBJECTS, mmluMedicalSpecs } from "./mmlu_medical.js";
import {
  pile_pubmed_abstracts,
  pile_pubmed_abstracts_eos,
  pile_pubmed_central,
  pile_pubmed_central_eos,
} from "./pile_pubmed.js";
import { pubmedqa } from "./pubmedqa.js";
import { pubmedqa_biomedllama } from "./pubmedqa_biomedllama.js";
import { usmleqa } from "./usmleqa.js";

/** Every task, as data (one spec per file of this folder), in the order `biomed-eval tasks` lists them. */
export const TASK_SPECS: readonly TaskSpec[] = [
  medqa_4options,
  medqa_5options,
  medmcqa,
  pubmedqa,
  ...mmluMedicalSpecs,
  pile_pubmed_abstracts,
  pile_pubmed_central,
  usmleqa,
  medmcqa_biomedllama,
  pubmedqa_biomedllama,
  pile_pubmed_abstracts_eos,
  pile_pubmed_central_eos,
];

/** The specs, interpreted: what the engine runs. */
export const TASKS: readonly TaskDef[] = TASK_SPECS.map(buildTask);

/** Names that expand to several tasks, as lm-eval groups do. */
export const TASK_GROUPS: Record<string, string[]> = {
  mmlu_medical: MMLU_MEDICAL_SUBJECTS.map((s) => `mmlu_${s}`),
  biomed_llama: [
    "usmleqa",
    "medmcqa_biomedllama",
    "pubmedqa_biomedllama",
    "pile_pubmed_abstracts_eos",
    "pile_pubmed_central_eos",
  ],
};

export function getTask(name: string): TaskDef {
  const t = TASKS.find((x) => x.name === name || x.aliases?.includes(name));
  if (!t) throw new UnknownTaskError(`unknown task "${name}" (known: ${listTaskNames().join(", ")})`);
  return t;
}

export function listTaskNames(): string[] {
  return [...TASKS.map((t) => t.name), ...Object.keys(TASK_GROUPS)];
}

/** "a,b,mmlu_medical" → task definitions, groups expanded, duplicates dropped, order kept. */
export function resolveTasks(spec: string | readonly string[]): TaskDef[] {
  const names = (typeof spec === "string" ? spec.split(",") : spec).map((s) => s.trim()).filter(Boolean);
  const out: TaskDef[] = [];
  for (const n of names) {
    for (const t of (TASK_GROUPS[n] ?? [n]).map(getTask)) if (!out.includes(t)) out.push(t);
  }
  if (out.length === 0) throw new UnknownTaskError("no task given");
  return out;
}
