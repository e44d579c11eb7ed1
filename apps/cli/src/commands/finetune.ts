import { LlamaTokenizer } from "@biomed-llama/tokenizer";
import {
  FINETUNE_DEFAULTS,
  type FinetuneTask,
  finetuneSequences,
  runModelConfig,
} from "@biomed-llama/trainer";
import type { Command } from "commander";
import { addTrainFlags, runConfig, runTraining } from "../train-flags.js";

const TASKS: FinetuneTask[] = ["medqa", "medmcqa", "pubmedqa", "instruct"];

export function registerFinetune(program: Command): void {
  const cmd = program
    .command("finetune")
    .description(
      "Supervised fine-tuning with the prompt masked: --task medqa|medmcqa|pubmedqa --data FILE (upstream formats), or --task instruct --data MIX.jsonl (instruct-mix output).",
    )
    .requiredOption("--task <task>", TASKS.join(" | "))
    .option(
      "--tokenizer <model>",
      "SentencePiece tokenizer.model (default: LLaMA's, shipped with the tokenizer package)",
    );
  addTrainFlags(cmd).action(async (opts: Record<string, unknown>) => {
    const task = opts.task as FinetuneTask;
    if (!TASKS.includes(task)) throw new Error(`--task: expected one of ${TASKS.join("|")}, got "${task}"`);
    const run = runConfig(opts, FINETUNE_DEFAULTS);
    const { config, resume } = run;
    const tokenizer = await LlamaTokenizer.load(opts.tokenizer as string | undefined);
    // before tokenizing anything: ids the tokenizer makes must exist in the model's embedding
    const model = runModelConfig(config, resume);
    if (tokenizer.vocabSize > model.config.vocab_size)
      throw new Error(
        `--tokenizer ${opts.tokenizer ?? "(LLaMA's)"}: ${tokenizer.vocabSize} pieces, more than the vocab_size ${model.config.vocab_size} of ${model.source}`,
      );
    const data = finetuneSequences(task, config.data!, tokenizer, config.seq_len);
    process.stderr.write(
      `finetune: ${data.numSequences} examples from ${config.data}${data.dropped ? ` (${data.dropped} dropped: no answer token within seq_len)` : ""}\n`,
    );
    const evalData = config.eval_data
      ? finetuneSequences(task, config.eval_data, tokenizer, config.seq_len)
      : null;
    await runTraining("finetune", run, { data, evalData, kind: `finetune:${task}` });
  });
}
