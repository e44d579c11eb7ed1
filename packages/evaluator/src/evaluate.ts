import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import type { Doc } from "./datasets.js";
import { dataPath } from "./datasets.js";
import { TaskDataError } from "./errors.js";
import { DEFAULT_FEWSHOT_SEED, FewshotSampler } from "./fewshot.js";
import type { LM } from "./lm.js";
import {
  encodeRequests,
  type LoglikelihoodResponse,
  loglikelihoodTokens,
  type TokenRequest,
} from "./loglikelihood.js";
import {
  argmax,
  bitsPerByte,
  countBytes,
  countWords,
  mean,
  meanStderr,
  weightedPerplexity,
} from "./metrics.js";
import type { RequestCache } from "./request-cache.js";
import { getRollingTokenWindows, makeDisjointWindow } from "./rolling-windows.js";
import type { MultipleChoiceTaskDef, PerplexityTaskDef, TaskDef } from "./task.js";

export interface EvaluateOptions {
  /** Folder laid out like the shared data folder (medqa/, medmcqa/, pubmedqa/, mmlu_medical/, pile/). */
  dataDir: string;
  /** k for every multiple-choice task (default 0). */
  numFewshot?: number;
  /** First N docs of each task, or a fraction < 1 of them (lm-eval's --limit). */
  limit?: number;
  batchSize?: number;
  addBos?: boolean;
  fewshotSeed?: number;
  cache?: RequestCache;
  onProgress?: (p: {
    done: number;
    total: number;
    cached: number;
    phase: "loglikelihood" | "loglikelihood_rolling";
  }) => void;
}

/** One line of `samples_<task>.jsonl`, as lm-eval's --log_samples writes it. */
export interface SampleRecord {
  doc_id: number;
  doc: Doc;
  target: number | string;
  arguments: string[][];
  resps: Array<Array<[number, boolean] | number>>;
  filtered_resps: Array<[number, boolean] | number>;
  [metric: string]: unknown;
}

export interface TaskResult {
  task: TaskDef;
  /** lm-eval keys: "acc,none", "acc_stderr,none", ... */
  metrics: Record<string, number | string>;
  samples: SampleRecord[];
  nShot: number;
  nSamples: { original: number; effective: number };
  /** Split the few-shot examples came from (null for 0-shot / perplexity). */
  fewshotSplit: string | null;
}

interface PreparedMC {
  kind: "mc";
  task: MultipleChoiceTaskDef;
  docs: Doc[];
  original: number;
  contexts: string[];
  choices: string[][];
  fewshotSplit: string | null;
  nShot: number;
}

interface PreparedPpl {
  kind: "ppl";
  task: PerplexityTaskDef;
  docs: Doc[];
  original: number;
}

/** Tasks with data read and prompts rendered: everything checked, nothing scored yet. */
export type PreparedTask = PreparedMC | PreparedPpl;
type Prepared = PreparedTask;

function applyLimit<T>(docs: T[], limit?: number): T[] {
  if (limit === undefined) return docs;
  const n = limit < 1 ? Math.ceil(docs.length * limit) : Math.floor(limit);
  return docs.slice(0, n);
}

/** Reads every task's data and renders every prompt, so bad input fails before any scoring. */
export async function prepareTasks(tasks: readonly TaskDef[], opts: EvaluateOptions): Promise<Prepared[]> {
  const out: Prepared[] = [];
  for (const task of tasks) {
    const all = await task.splits[task.testSplit].load(opts.dataDir);
    const docs = applyLimit(all, opts.limit);
    if (task.outputType === "loglikelihood_rolling") {
      out.push({ kind: "ppl", task, docs, original: all.length });
      continue;
    }
    const k = opts.numFewshot ?? 0;
    let sampler: FewshotSampler | undefined;
    let fewshotSplit: string | null = null;
    if (k > 0) {
      // lm-eval: the task's few-shot split (train, else validation); a task with neither draws
      // from the evaluated split. Only files that are present count.
      const avail = task.fewshotSplits.find((s) =>
        task.splits[s]?.files.every((f) => existsSync(dataPath(opts.dataDir, f))),
      );
      fewshotSplit = avail ?? task.testSplit;
      const fsDocs =
        fewshotSplit === task.testSplit ? all : await task.splits[fewshotSplit].load(opts.dataDir);
      const same = fewshotSplit === task.testSplit;
      if (fsDocs.length < k + (same ? 1 : 0))
        throw new TaskDataError(
          `${task.name}: ${k}-shot needs more than the ${fsDocs.length} docs of split "${fewshotSplit}"`,
        );
      sampler = new FewshotSampler(task, fsDocs, same, opts.fewshotSeed ?? DEFAULT_FEWSHOT_SEED);
    }
    const contexts = docs.map(
      (doc) =>
        (task.description ?? "") + (sampler ? sampler.labeledExamples(doc, k) : "") + task.docToText(doc),
    );
    const choices = docs.map((doc, i) => {
      const c = task.docToChoice(doc);
      const gold = task.docToTarget(doc);
      if (!(gold >= 0 && gold < c.length))
        throw new TaskDataError(`${task.name}: doc ${i}: target ${gold} is not a choice index`);
      return c;
    });
    out.push({ kind: "mc", task, docs, original: all.length, contexts, choices, fewshotSplit, nShot: k });
  }
  return out;
}

/** Run tasks on a model: lm-eval's `evaluate`, log-likelihood requests of all tasks batched together. */
export async function evaluateTasks(
  lm: LM,
  tasks: readonly TaskDef[] | readonly PreparedTask[],
  opts: EvaluateOptions,
): Promise<TaskResult[]> {
  // Already-prepared tasks let a caller fail on bad data before loading a model.
  const prepared = isPrepared(tasks) ? tasks : await prepareTasks(tasks as readonly TaskDef[], opts);

  // Multiple choice: one (context, " choice") request per option.
  const mcRequests: { context: string; continuation: string }[] = [];
  for (const p of prepared) {
    if (p.kind !== "mc") continue;
    p.contexts.forEach((ctx, i) => {
      for (const c of p.choices[i])
        mcRequests.push({ context: ctx, continuation: p.task.targetDelimiter + c });
    });
  }
  const mcTokens = encodeRequests(lm, mcRequests, { addBos: opts.addBos });
  const mcScores = await loglikelihoodTokens(lm, mcTokens, {
    batchSize: opts.batchSize,
    cache: opts.cache,
    onProgress: (p) => opts.onProgress?.({ ...p, phase: "loglikelihood" }),
  });

  // Perplexity: disjoint rolling windows of every document.
  const rollTokens: TokenRequest[] = [];
  const rollOwner: Array<[number, number]> = [];
  prepared.forEach((p, pi) => {
    if (p.kind !== "ppl") return;
    const prefix = p.task.prefixToken === "eos" ? lm.eosId : lm.bosId;
    p.docs.forEach((doc, di) => {
      for (const w of getRollingTokenWindows(lm.encode(p.task.docToTarget(doc)), prefix, lm.maxLength, 1)) {
        const [contextEnc, continuationEnc] = makeDisjointWindow(w);
        rollTokens.push({ contextEnc, continuationEnc });
        rollOwner.push([pi, di]);
      }
    });
  });
  const rollScores = await loglikelihoodTokens(lm, rollTokens, {
    batchSize: opts.batchSize,
    cache: opts.cache,
    onProgress: (p) => opts.onProgress?.({ ...p, phase: "loglikelihood_rolling" }),
  });
  const docLL = new Map<string, number>();
  rollScores.forEach(([ll], j) => {
    const key = rollOwner[j].join(":");
    docLL.set(key, (docLL.get(key) ?? 0) + ll);
  });

  let cursor = 0;
  return prepared.map((p, pi) => {
    if (p.kind === "mc") {
      const n = p.choices.reduce((s, c) => s + c.length, 0);
      const res = mcScores.slice(cursor, cursor + n);
      const args = mcRequests.slice(cursor, cursor + n);
      cursor += n;
      return scoreMultipleChoice(p, res, args);
    }
    const lls = p.docs.map((_, di) => docLL.get(`${pi}:${di}`) ?? 0);
    return scorePerplexity(p, lls);
  });
}

/** lm-eval's `hash_string`: sha256 hex of the text. */
const hashString = (s: string) => createHash("sha256").update(s).digest("hex");

/** lm-eval's doc_hash / prompt_hash / target_hash of a logged sample. */
function sampleHashes(doc: Doc, prompt: string, target: number | string) {
  return {
    doc_hash: hashString(JSON.stringify(doc, null, 2)),
    prompt_hash: hashString(prompt),
    target_hash: hashString(String(target)),
  };
}

function isPrepared(x: readonly TaskDef[] | readonly PreparedTask[]): x is readonly PreparedTask[] {
  return x.length > 0 && "kind" in x[0];
}

function scoreMultipleChoice(
  p: PreparedMC,
  responses: LoglikelihoodResponse[],
  args: { context: string; continuation: string }[],
): TaskResult {
  const per: Record<string, number[]> = { acc: [], acc_norm: [] };
  const samples: SampleRecord[] = [];
  let off = 0;
  p.docs.forEach((doc, i) => {
    const choices = p.choices[i];
    const r = responses.slice(off, off + choices.length);
    const a = args.slice(off, off + choices.length);
    off += choices.length;
    const lls = r.map(([ll]) => ll);
    const gold = p.task.docToTarget(doc);
    // lm-eval ConfigurableTask.process_results: acc_norm divides by the choice's character length
    // (the choice text, without the target delimiter).
    const acc = argmax(lls) === gold ? 1 : 0;
    const accNorm = argmax(lls.map((ll, j) => ll / choices[j].length)) === gold ? 1 : 0;
    per.acc.push(acc);
    per.acc_norm.push(accNorm);
    const rec: SampleRecord = {
      doc_id: i,
      doc,
      target: gold,
      arguments: a.map((x) => [x.context, x.continuation]),
      resps: r.map((x) => [x]),
      filtered_resps: r,
      ...sampleHashes(doc, a[0]?.context ?? "", gold),
    };
    for (const m of p.task.metrics) rec[m] = m === "acc" ? acc : accNorm;
    samples.push(rec);
  });
  const metrics: Record<string, number | string> = {};
  for (const m of p.task.metrics) {
    metrics[`${m},none`] = mean(per[m]);
    metrics[`${m}_stderr,none`] = per[m].length > 1 ? meanStderr(per[m]) : "N/A";
  }
  return {
    task: p.task,
    metrics,
    samples,
    nShot: p.nShot,
    nSamples: { original: p.original, effective: p.docs.length },
    fewshotSplit: p.fewshotSplit,
  };
}

function scorePerplexity(p: PreparedPpl, lls: number[]): TaskResult {
  const words: Array<[number, number]> = [];
  const bytes: Array<[number, number]> = [];
  const samples: SampleRecord[] = p.docs.map((doc, i) => {
    const text = p.task.docToTarget(doc);
    const w = countWords(text);
    const b = countBytes(text);
    words.push([lls[i], w]);
    bytes.push([lls[i], b]);
    return {
      doc_id: i,
      doc,
      target: text,
      arguments: [[text]],
      resps: [[lls[i]]],
      filtered_resps: [lls[i]],
      word_perplexity: [lls[i], w],
      byte_perplexity: [lls[i], b],
      bits_per_byte: [lls[i], b],
      ...sampleHashes(doc, text, text),
    };
  });
  // lm-eval has no closed-form stderr for these aggregations and does not bootstrap them: "N/A".
  return {
    task: p.task,
    metrics: {
      "word_perplexity,none": weightedPerplexity(words),
      "word_perplexity_stderr,none": "N/A",
      "byte_perplexity,none": weightedPerplexity(bytes),
      "byte_perplexity_stderr,none": "N/A",
      "bits_per_byte,none": bitsPerByte(bytes),
      "bits_per_byte_stderr,none": "N/A",
    },
    samples,
    nShot: 0,
    nSamples: { original: p.original, effective: p.docs.length },
    fewshotSplit: null,
  };
}
