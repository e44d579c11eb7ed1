// Multiple-choice options scored per second by biomed-eval's engine on the tiny and the bigger
// llama-model bench configs, against two baselines measured in the same run on the same token rows:
//   - the engine with the full [B, T, vocab] log-softmax (LlamaLM's fallback path), and
//   - PyTorch (packages/evaluator/scripts/torch_llama.py, /usr/bin/python3 with Debian's torch)
//     doing the same forward passes on the same batches; its log-likelihoods are also compared
//     with ours (max |Δ|), an end-to-end check of model + engine against an independent forward.
// Tasks: medqa_4options (letters: 4 options share one forward pass), usmleqa (option texts: one
// pass per option), 0-shot, and pile_pubmed_abstracts (rolling windows of max length, every
// position scored: the positions-only projection saves nothing there), first --docs documents of
// the bundled data. "options" counts requests (options, or windows for perplexity).
// Run: pnpm --filter @biomed-llama/evaluator build && pnpm tsx bench/evaluator-score.ts [--docs 8] [--batch-size 4] [--backend wasm]
// Writes bench/results/evaluator.json.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
// bench/ is not a workspace dependent of the packages, so it loads their built entries by path.
import {
  encodeRequests,
  getRollingTokenWindows,
  LlamaLM,
  type LM,
  loadLlamaLM,
  loglikelihoodTokens,
  makeDisjointWindow,
  prepareTasks,
  type QueryScore,
  resolveTasks,
  type ScoreRow,
  type TokenRequest,
} from "../packages/evaluator/dist/index.js";
import {
  initHFCheckpoint,
  LLAMA_PRESETS,
  type LlamaForCausalLM,
} from "../packages/llama-model/dist/index.js";
import { arg } from "./bench-args.js";
import { writeResult } from "./write-result.js";

const here = dirname(fileURLToPath(import.meta.url));
const docs = Number(arg("docs", "8"));
const batchSize = Number(arg("batch-size", "4"));
const backend = arg("backend", "wasm") as "wasm" | "cpu" | "auto";
const presets = arg("presets", "tiny-llama,tiny-llama-256").split(",");
const dataDir = join(here, "../packages/evaluator/data");
const torchScript = join(here, "../packages/evaluator/scripts/torch_llama.py");

/** Wraps an LM so every batch it scores (rows and answers) is kept, in order. */
function recording(lm: LM) {
  const rows: ScoreRow[][] = [];
  const answers: QueryScore[][][] = [];
  const wrapped: LM = Object.assign(Object.create(lm), {
    scoreBatch: async (r: ScoreRow[]) => {
      const a = await lm.scoreBatch(r);
      rows.push(r);
      answers.push(a);
      return a;
    },
  });
  return { wrapped, rows, answers };
}

async function timeIt(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

const out: Record<string, unknown>[] = [];
for (const preset of presets) {
  const dir = join(mkdtempSync(join(tmpdir(), "bench-eval-")), preset);
  await initHFCheckpoint(LLAMA_PRESETS[preset], dir, { seed: 0 });
  const lm = await loadLlamaLM(dir, { backend });
  for (const task of ["medqa_4options", "usmleqa", "pile_pubmed_abstracts"]) {
    const [p] = await prepareTasks(resolveTasks(task), { dataDir, limit: docs });
    let toks: TokenRequest[];
    if (p.kind === "mc") {
      const reqs = p.contexts.flatMap((c, i) =>
        p.choices[i].map((ch) => ({ context: c, continuation: p.task.targetDelimiter + ch })),
      );
      toks = encodeRequests(lm, reqs);
    } else {
      // Perplexity: the disjoint rolling windows of each document, as evaluateTasks builds them.
      toks = p.docs.flatMap((d) =>
        getRollingTokenWindows(lm.encode(p.task.docToTarget(d)), lm.bosId, lm.maxLength)
          .map(makeDisjointWindow)
          .map(([contextEnc, continuationEnc]) => ({ contextEnc, continuationEnc })),
      );
    }
    const scoredTokens = toks.reduce((n, t) => n + t.continuationEnc.length, 0);
    await lm.scoreBatch([
      { input: toks[0].contextEnc, queries: [{ start: 0, tokens: [toks[0].contextEnc[1] ?? 1] }] },
    ]); // warm-up

    const ours = recording(lm);
    const oursSec = await timeIt(() => loglikelihoodTokens(ours.wrapped, toks, { batchSize }));

    const m = lm.model;
    const publicOnly = {
      config: m.config,
      logProbs: (ids: number[][]) => m.logProbs(ids),
      namedParameters: () => m.namedParameters(),
    } as unknown as LlamaForCausalLM;
    const full = new LlamaLM(publicOnly, lm.tokenizer, { maxLength: lm.maxLength, id: "full" });
    const fullSec = await timeIt(() => loglikelihoodTokens(full, toks, { batchSize }));

    const rowsPath = join(dirname(dir), "rows.json");
    const torchOut = join(dirname(dir), "torch.json");
    writeFileSync(rowsPath, JSON.stringify(ours.rows));
    execFileSync("/usr/bin/python3", [torchScript, dir, rowsPath, torchOut], { stdio: "inherit" });
    const torch = JSON.parse(readFileSync(torchOut, "utf8")) as {
      seconds: number;
      threads: number;
      torch: string;
      results: [number, boolean][];
    };
    const mine = ours.answers.flat(2).map((q) => [q.logprobs.reduce((a, b) => a + b, 0), q.greedy] as const);
    let maxAbsDiff = 0;
    let greedyAgree = 0;
    mine.forEach(([ll, g], i) => {
      maxAbsDiff = Math.max(maxAbsDiff, Math.abs(ll - torch.results[i][0]));
      if (g === torch.results[i][1]) greedyAgree++;
    });
    const forwardPasses = ours.rows.flat().length;
    const row = {
      preset,
      task,
      docs: p.docs.length,
      options: toks.length,
      scoredTokens,
      scoredTokensPerSec: {
        engine: scoredTokens / oursSec,
        engineFullLogits: scoredTokens / fullSec,
        pytorch: scoredTokens / torch.seconds,
      },
      forwardPasses,
      batchSize,
      backend: lm.backend,
      optionsPerSec: {
        engine: toks.length / oursSec,
        engineFullLogits: toks.length / fullSec,
        pytorch: toks.length / torch.seconds,
      },
      seconds: { engine: oursSec, engineFullLogits: fullSec, pytorch: torch.seconds },
      speedupVsPytorch: torch.seconds / oursSec,
      pytorch: { version: torch.torch, threads: torch.threads },
      agreement: { maxAbsLogprobDiff: maxAbsDiff, greedySame: `${greedyAgree}/${mine.length}` },
    };
    console.log(JSON.stringify(row));
    out.push(row);
  }
  lm.dispose();
}

const file = writeResult("evaluator", {
  bench: "evaluator-score",
  date: new Date().toISOString(),
  cpus: cpus().length,
  loadavg: loadavg(),
  results: out,
});
console.log(`wrote ${file}`);
