import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import {
  buildResults,
  CACHE_FILE,
  checkRequestLengths,
  checkResultsDir,
  evaluateTasks,
  makeTable,
  prepareLlamaLM,
  prepareTasks,
  RequestCache,
  resolveTasks,
  writeResultsDir,
} from "@biomed-llama/evaluator";
import { BACKEND_NAMES, type BackendName } from "@biomed-llama/llama-model";
import type { Progress } from "@biomed-llama/progress";
import type { Command } from "commander";
import { fail, intOption, limitOption } from "../fail.js";
import { loadProgress, requestProgress } from "../progress.js";

/** The small data subsets shipped inside @biomed-llama/evaluator (the default --data-dir). */
export function bundledDataDir(): string {
  const req = createRequire(import.meta.url);
  return join(dirname(req.resolve("@biomed-llama/evaluator/package.json")), "data");
}

function gitHash(): string | null {
  try {
    return execFileSync("git", ["rev-parse", "--short", "HEAD"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
  } catch {
    return null;
  }
}

interface RunOpts {
  model: string;
  tokenizer?: string;
  tasks: string;
  numFewshot: number;
  limit?: number;
  batchSize: number;
  addBos: boolean;
  backend: BackendName;
  weights: "f32" | "bf16";
  maxLength?: number;
  output: string;
  overwrite: boolean;
  dataDir?: string;
  logSamples: boolean;
  cache: boolean;
  json: boolean;
  fewshotSeed: number;
}

export function registerRun(program: Command): void {
  program
    .command("run")
    .description(
      "Evaluate a checkpoint on tasks with lm-evaluation-harness semantics; writes results.json, results.md, samples_<task>.jsonl",
    )
    .requiredOption("--model <dir>", "Hugging Face checkpoint directory (config.json + *.safetensors)")
    .option(
      "--tokenizer <path>",
      "SentencePiece tokenizer.model (default: <model>/tokenizer.model, else LLaMA's)",
    )
    .requiredOption("--tasks <list>", "comma-separated task names or groups (see `biomed-eval tasks`)")
    .option("--num-fewshot <k>", "few-shot examples per prompt", intOption("--num-fewshot"), 0)
    .option("--limit <n>", "only the first N documents of each task (or a fraction < 1)", limitOption)
    .option("--batch-size <n>", "forward passes batched together", intOption("--batch-size", 1), 1)
    .option(
      "--add-bos",
      "prepend BOS to every log-likelihood request (default off, as BioMed-LLaMA scored)",
      false,
    )
    .option("--backend <name>", `tfjs backend: ${BACKEND_NAMES.join(" | ")}`, "auto")
    .option(
      "--weights <storage>",
      "how BF16 checkpoint weights are held: bf16 (2 bytes/parameter, widened inside each matmul; native backend) | f32",
      "bf16",
    )
    .option(
      "--max-length <n>",
      "model context length: at most max_position_embeddings (the default), and enough to hold every multiple-choice prompt + answer whole",
      intOption("--max-length", 1),
    )
    .option(
      "--data-dir <dir>",
      "folder laid out like medqa/, medmcqa/, pubmedqa/, mmlu_medical/, pile/ (default: the bundled subsets)",
    )
    .requiredOption(
      "--output <dir>",
      "where results.json, results.md and samples go (absent, empty, or an interrupted run's: refused if it holds anything else)",
    )
    .option(
      "--overwrite",
      "replace the results in an existing --output directory (its request cache is kept)",
      false,
    )
    .option("--log-samples", "write samples_<task>.jsonl (lm-eval's --log_samples)", false)
    .option("--no-cache", "do not read or write <output>/requests-cache.jsonl")
    .option(
      "--fewshot-seed <n>",
      "seed of the few-shot sampler (lm-eval's default 1234)",
      intOption("--fewshot-seed"),
      1234,
    )
    .option("--json", "print results.json to stdout instead of the markdown table", false)
    .action(async (o: RunOpts) => {
      try {
        await run(o);
      } catch (e) {
        fail(e);
      }
    });
}

const warn = (m: string) => process.stderr.write(`biomed-eval: warning: ${m}\n`);

async function run(o: RunOpts): Promise<void> {
  // Everything that can be wrong with the input is checked before the weights are read, in the
  // order a user fixes it: flags, the output, tasks and data, the checkpoint's config and tokenizer,
  // then whether every request fits the max length.
  if (!(BACKEND_NAMES as readonly string[]).includes(o.backend))
    throw new Error(`--backend must be one of ${BACKEND_NAMES.join(", ")}, got "${o.backend}"`);
  if (o.weights !== "f32" && o.weights !== "bf16")
    throw new Error(`--weights must be bf16 or f32, got "${o.weights}"`);
  const output = resolve(o.output);
  const outputState = checkResultsDir(output, { flag: "--output", overwrite: o.overwrite });
  const dataDir = resolve(o.dataDir ?? bundledDataDir());
  if (!existsSync(dataDir)) throw new Error(`${dataDir}: --data-dir not found`);
  const startTime = Date.now() / 1000;
  const evalOpts = { dataDir, numFewshot: o.numFewshot, limit: o.limit, fewshotSeed: o.fewshotSeed };
  const prepared = await prepareTasks(resolveTasks(o.tasks), evalOpts);
  for (const p of prepared)
    if (
      p.kind === "mc" &&
      p.fewshotSplit === p.task.testSplit &&
      !p.task.fewshotSplits.includes(p.task.testSplit)
    )
      warn(
        `${p.task.name}: no ${p.task.fewshotSplits.join("/")} file in the data dir; few-shot examples come from the evaluated split (current document excluded)`,
      );
  let loading: Progress | undefined;
  const plan = await prepareLlamaLM(o.model, {
    tokenizer: o.tokenizer,
    backend: o.backend,
    maxLength: o.maxLength,
    weights: o.weights,
    onLoadProgress: (done, total) => loading?.update(done, total),
  });
  for (const w of checkRequestLengths(plan, prepared, {
    addBos: o.addBos,
    maxLengthFlag: o.maxLength === undefined ? undefined : "--max-length",
    maxPositions: plan.config.max_position_embeddings,
  }))
    warn(w);
  // A damaged cache fails here too; a torn last line is dropped with a warning.
  const cache = o.cache ? new RequestCache(join(output, CACHE_FILE), warn) : undefined;
  if (outputState === "resume" && cache)
    process.stderr.write(
      `biomed-eval: resuming from ${join(output, CACHE_FILE)} (${cache.size} scored requests)\n`,
    );

  loading = loadProgress("biomed-eval load");
  let lm: Awaited<ReturnType<typeof plan.load>>;
  try {
    lm = await plan.load();
  } finally {
    loading.stop();
  }
  process.stderr.write(
    `biomed-eval: loaded ${o.model} in ${lm.loadSeconds.toFixed(1)} s: ${(lm.parameterBytes / 1e9).toFixed(2)} GB of weights (${lm.weights === "bf16" ? "bfloat16, 2 bytes/parameter" : "float32"}) on ${lm.backendDescription}\n`,
  );
  if (lm.nonFinite)
    warn(
      `${o.model}: parameter ${lm.nonFinite.name} holds ${lm.nonFinite.value} (at index ${lm.nonFinite.index}): the checkpoint's weights are not finite, so the scores are meaningless`,
    );
  // One progress line per request type: log-likelihood (multiple choice), then rolling (perplexity).
  let progress: Progress | undefined;
  let phase = "";
  const taskResults = await evaluateTasks(lm, prepared, {
    ...evalOpts,
    batchSize: o.batchSize,
    addBos: o.addBos,
    cache,
    onProgress: (p) => {
      if (p.total === 0) return;
      if (p.phase !== phase) {
        progress?.stop();
        const docs = prepared
          .filter((t) => (t.kind === "mc") === (p.phase === "loglikelihood"))
          .reduce((n, t) => n + t.docs.length, 0);
        progress = requestProgress(`biomed-eval ${p.phase}`, { docs });
        phase = p.phase;
        if (p.cached > 0)
          process.stderr.write(
            `biomed-eval: ${p.cached}/${p.total} ${p.phase} requests answered from the cache\n`,
          );
      }
      progress?.update(p.done, p.total);
    },
  });
  progress?.stop();
  const results = buildResults(taskResults, {
    model: "biomed-llama",
    modelArgs: `pretrained=${resolve(o.model)},tokenizer=${lm.tokenizerPath ?? "llama (default)"},max_length=${lm.maxLength}`,
    batchSize: o.batchSize,
    limit: o.limit ?? null,
    addBos: o.addBos,
    fewshotSeed: o.fewshotSeed,
    maxLength: lm.maxLength,
    bosId: lm.bosId,
    eosId: lm.eosId,
    gitHash: gitHash(),
    startTime,
    endTime: Date.now() / 1000,
    extra: { backend: lm.backend, weights: lm.weights, data_dir: dataDir, num_fewshot: o.numFewshot },
  });
  for (const tr of taskResults)
    for (const [k, v] of Object.entries(tr.metrics))
      if (typeof v === "number" && !Number.isFinite(v))
        warn(
          `${tr.task.name}: ${k.split(",")[0]} is ${v} (written as null in results.json): the model's scores are not finite`,
        );
  const paths = writeResultsDir(output, results, taskResults, {
    logSamples: o.logSamples,
    overwrite: o.overwrite,
    flag: "--output",
  });
  lm.dispose();
  if (o.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  else process.stdout.write(`${makeTable(results)}\n\nwrote ${paths.resultsPath}\n`);
}
