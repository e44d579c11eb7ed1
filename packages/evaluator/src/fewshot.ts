import type { Doc } from "./datasets.js";
import { PythonRandom } from "./python-random.js";
import type { MultipleChoiceTaskDef } from "./task.js";

/** lm-eval's default few-shot seed (`--fewshot_random_seed`). */
export const DEFAULT_FEWSHOT_SEED = 1234;

/**
 * lm-eval's `ContextSampler` / `FirstNSampler`. One generator per task, seeded once and consumed
 * doc by doc in order, so the same seed, docs and k give the same examples as lm-eval draws.
 * When examples come from the split being evaluated, k+1 are drawn and the current doc dropped.
 */
export class FewshotSampler {
  private readonly rnd: PythonRandom;
  private readonly keys: string[];

  constructor(
    private readonly task: MultipleChoiceTaskDef,
    private readonly docs: readonly Doc[],
    private readonly sameSplitAsEval: boolean,
    seed = DEFAULT_FEWSHOT_SEED,
  ) {
    this.rnd = new PythonRandom(seed);
    this.keys = docs.map((d) => JSON.stringify(d));
  }

  stateDict(): { rnd: ReturnType<PythonRandom["stateDict"]> } {
    return { rnd: this.rnd.stateDict() };
  }

  loadStateDict(state: { rnd: ReturnType<PythonRandom["stateDict"]> }): void {
    this.rnd.loadStateDict(state.rnd);
  }

  /** Indices into the few-shot docs of the examples for `doc` (advances the generator). */
  sampleIndices(doc: Doc, k: number): number[] {
    if (k <= 0) return [];
    const n = this.sameSplitAsEval ? k + 1 : k;
    const idx = Array.from({ length: this.docs.length }, (_, i) => i);
    const drawn =
      this.task.fewshotSampler === "first_n"
        ? idx.slice(0, Math.min(n, idx.length))
        : this.rnd.sample(idx, n);
    // lm-eval compares dicts (`x != doc`); comparing serialisations is the same test.
    const self = JSON.stringify(doc);
    return drawn.filter((i) => this.keys[i] !== self).slice(0, k);
  }

  /** The labelled examples block: each `text + delimiter + target`, then the few-shot delimiter. */
  labeledExamples(doc: Doc, k: number): string {
    const t = this.task;
    let out = "";
    for (const i of this.sampleIndices(doc, k)) {
      const ex = this.docs[i];
      const target = t.fewshotTarget ? t.fewshotTarget(ex) : t.docToChoice(ex)[t.docToTarget(ex)];
      out += t.docToText(ex) + t.targetDelimiter + target + t.fewshotDelimiter;
    }
    return out;
  }
}
