import { readFileSync } from "node:fs";
import {
  initHFCheckpoint,
  LLAMA_PRESETS,
  type LlamaConfig,
  parameterCount,
  presetConfig,
  resolveConfig,
} from "@biomed-llama/llama-model";
import { createProgress } from "@biomed-llama/progress";
import { checkOutput } from "@biomed-llama/safe-files";
import { defaultTokenizerModelPath, LlamaTokenizer } from "@biomed-llama/tokenizer";
import { type Command, InvalidArgumentError, Option } from "commander";

interface InitOptions {
  preset?: string;
  config?: string;
  out: string;
  vocabSize?: number;
  seed: number;
  dtype: "F32" | "BF16";
  maxShardBytes?: number;
  tokenizer?: string | false;
  overwrite?: boolean;
  json?: boolean;
}

function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new InvalidArgumentError(`expected a non-negative integer, got "${value}"`);
  return n;
}

function positiveInt(value: string): number {
  const n = nonNegativeInt(value);
  if (n === 0) throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  return n;
}

/** LLaMA's SentencePiece vocabulary; only then does the bundled tokenizer fit the model. */
const LLAMA_VOCAB = 32000;

export function registerInit(program: Command): void {
  program
    .command("init")
    .description(
      "Write a freshly initialised Hugging Face LLaMA checkpoint (HF init: normal(0, initializer_range), norms 1)",
    )
    .addOption(
      new Option("--preset <name>", "model preset").choices(Object.keys(LLAMA_PRESETS)).conflicts("config"),
    )
    .option("--config <file>", "a Hugging Face config.json instead of a preset")
    .requiredOption("--out <dir>", "checkpoint directory to create (an existing non-empty one is refused)")
    .option(
      "--overwrite",
      "replace an existing --out directory (atomically, once the new checkpoint is complete)",
    )
    .option("--vocab-size <n>", "override vocab_size", positiveInt)
    .option("--seed <n>", "initialisation seed", nonNegativeInt, 0)
    .addOption(new Option("--dtype <dtype>", "stored dtype").choices(["F32", "BF16"]).default("F32"))
    .option("--max-shard-bytes <n>", "shard weights into files of at most this many bytes", positiveInt)
    .option(
      "--tokenizer <path>",
      "SentencePiece model copied beside the weights as tokenizer.model (default: the bundled LLaMA one when vocab_size is 32000)",
    )
    .option("--no-tokenizer", "do not copy a tokenizer model")
    .option("--json", "print the summary as JSON on stdout")
    .action(async (opts: InitOptions) => {
      await init(opts);
    });
}

async function init(opts: InitOptions): Promise<void> {
  if (!opts.preset && !opts.config) throw new Error("init needs --preset NAME or --config FILE");
  let config: LlamaConfig;
  if (opts.config) {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(opts.config, "utf8"));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new Error(
        `${opts.config}: ${code === "ENOENT" ? "not found" : `not valid JSON (${(e as Error).message})`}`,
      );
    }
    config = resolveConfig(raw as Record<string, unknown>, opts.config);
  } else {
    config = presetConfig(opts.preset as string);
  }
  if (opts.vocabSize !== undefined) config = resolveConfig({ ...config, vocab_size: opts.vocabSize });
  checkOutput(opts.out, { flag: "--out", kind: "dir", overwrite: opts.overwrite });
  const tokenizerModel =
    opts.tokenizer === false
      ? undefined
      : (opts.tokenizer ?? (config.vocab_size === LLAMA_VOCAB ? defaultTokenizerModelPath() : undefined));
  // A file copied in as tokenizer.model must be a SentencePiece model of the model's vocabulary:
  // checked before any weight is written (the bundled one is LLaMA's 32000 pieces).
  if (opts.tokenizer) {
    const tok = await LlamaTokenizer.load(opts.tokenizer).catch((e: Error) => {
      throw new Error(`--tokenizer ${e.message}`);
    });
    if (tok.vocabSize !== config.vocab_size)
      throw new Error(
        `--tokenizer ${opts.tokenizer}: has ${tok.vocabSize} pieces, the model's vocab_size is ${config.vocab_size}; pass --vocab-size ${tok.vocabSize}, another --tokenizer, or --no-tokenizer`,
      );
  }
  const total = parameterCount(config);
  const progress = createProgress("init", { total, unit: "M params", scale: 1e6, logEverySec: 5 });
  const start = Date.now();
  await initHFCheckpoint(config, opts.out, {
    seed: opts.seed,
    dtype: opts.dtype,
    maxShardBytes: opts.maxShardBytes,
    tokenizerModel,
    overwrite: opts.overwrite,
    onTensor: (done) => progress.update(done),
  });
  progress.stop();
  const summary = {
    out: opts.out,
    source: opts.config ?? `preset ${opts.preset}`,
    parameters: total,
    dtype: opts.dtype,
    seed: opts.seed,
    tokenizer: tokenizerModel ?? null,
    seconds: (Date.now() - start) / 1000,
  };
  if (opts.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  else
    process.stdout.write(
      `wrote ${opts.out}: ${summary.source}, ${(total / 1e6).toFixed(2)}M parameters, ${opts.dtype}, seed ${opts.seed}${tokenizerModel ? ", tokenizer.model" : ""}\n`,
    );
}
