import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { loadLlamaLM, loglikelihood } from "@biomed-llama/evaluator";
import { BACKEND_NAMES, type BackendName } from "@biomed-llama/llama-model";
import { checkOutput, makeParents, writeFileAtomic } from "@biomed-llama/safe-files";
import type { Command } from "commander";
import { fail, intOption } from "../fail.js";
import { requestProgress } from "../progress.js";

interface ScoreOpts {
  model: string;
  tokenizer?: string;
  requests: string;
  batchSize: number;
  addBos: boolean;
  backend: BackendName;
  output?: string;
  overwrite: boolean;
}

/** `{context, continuation}` per line; checked entirely before the model is loaded. */
function readRequests(path: string): { context: string; continuation: string }[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new Error(`${path}: not found`);
  }
  const out: { context: string; continuation: string }[] = [];
  text.split("\n").forEach((line, i) => {
    if (!line.trim()) return;
    let r: Record<string, unknown>;
    try {
      r = JSON.parse(line);
    } catch {
      throw new Error(`${path}:${i + 1}: not a JSON object`);
    }
    if (typeof r.context !== "string")
      throw new Error(`${path}:${i + 1}: field "context" missing or not a string`);
    if (typeof r.continuation !== "string" || r.continuation === "")
      throw new Error(`${path}:${i + 1}: field "continuation" missing or empty`);
    out.push({ context: r.context, continuation: r.continuation });
  });
  return out;
}

export function registerScore(program: Command): void {
  program
    .command("score")
    .description(
      "Log-likelihood and is_greedy of your own {context, continuation} lines (lm-eval's loglikelihood)",
    )
    .requiredOption("--model <dir>", "Hugging Face checkpoint directory")
    .option("--tokenizer <path>", "SentencePiece tokenizer.model")
    .requiredOption("--requests <file>", 'JSONL, one {"context", "continuation"} per line')
    .option("--batch-size <n>", "forward passes batched together", intOption("--batch-size", 1), 1)
    .option("--add-bos", "prepend BOS to every request", false)
    .option("--backend <name>", `tfjs backend: ${BACKEND_NAMES.join(" | ")}`, "auto")
    .option("--output <file>", "write JSONL here instead of stdout (an existing file only with --overwrite)")
    .option("--overwrite", "replace an existing --output file", false)
    .action(async (o: ScoreOpts) => {
      try {
        // The output and the requests are checked before the model is loaded.
        if (o.output) checkOutput(o.output, { flag: "--output", kind: "file", overwrite: o.overwrite });
        const reqs = readRequests(o.requests);
        const lm = await loadLlamaLM(o.model, { tokenizer: o.tokenizer, backend: o.backend });
        const progress = requestProgress("biomed-eval score");
        const res = await loglikelihood(lm, reqs, {
          batchSize: o.batchSize,
          addBos: o.addBos,
          onProgress: (p) => progress.update(p.done, p.total),
        });
        progress.stop();
        lm.dispose();
        const lines = reqs.map((r, i) => JSON.stringify({ ...r, logprob: res[i][0], is_greedy: res[i][1] }));
        const text = lines.length ? `${lines.join("\n")}\n` : "";
        if (o.output) {
          const undo = makeParents(dirname(resolve(o.output)));
          try {
            writeFileAtomic(o.output, text);
          } catch (e) {
            undo();
            throw e;
          }
        } else process.stdout.write(text);
      } catch (e) {
        fail(e);
      }
    });
}
