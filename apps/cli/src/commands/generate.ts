import { existsSync } from "node:fs";
import { join } from "node:path";
import {
  BACKEND_NAMES,
  type BackendName,
  describeBackend,
  firstNonFiniteParameter,
  GenerateError,
  generate,
  loadHFCheckpoint,
  readHFConfig,
  setBackend,
} from "@biomed-llama/llama-model";
import { createProgress, type Progress } from "@biomed-llama/progress";
import { LlamaTokenizer } from "@biomed-llama/tokenizer";
import { type Command, InvalidArgumentError, Option } from "commander";

interface GenerateCliOptions {
  model: string;
  prompt: string;
  maxNewTokens: number;
  temperature: number;
  topP: number;
  seed: number;
  backend: BackendName;
  weights: "f32" | "bf16";
  tokenizer?: string;
  bos: boolean;
  json?: boolean;
}

function number(what: string, ok: (n: number) => boolean) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === "" || !Number.isFinite(n) || !ok(n))
      throw new InvalidArgumentError(`expected ${what}, got "${value}"`);
    return n;
  };
}

export function registerGenerate(program: Command): void {
  program
    .command("generate")
    .description(
      "Continue a prompt with a Hugging Face LLaMA checkpoint (greedy, or temperature / top-p sampling)",
    )
    .requiredOption("--model <dir>", "checkpoint directory (config.json + safetensors)")
    .requiredOption("--prompt <text>", "prompt text")
    .option(
      "--max-new-tokens <n>",
      "tokens to generate",
      number("a positive integer", (n) => Number.isInteger(n) && n > 0),
      64,
    )
    .option(
      "--temperature <t>",
      "0 = greedy",
      number("a number ≥ 0", (n) => n >= 0),
      0,
    )
    .option(
      "--top-p <p>",
      "nucleus sampling mass",
      number("a number in (0, 1]", (n) => n > 0 && n <= 1),
      1,
    )
    .option(
      "--seed <n>",
      "sampling seed",
      number("a non-negative integer", (n) => Number.isInteger(n) && n >= 0),
      0,
    )
    .addOption(new Option("--backend <name>", "tfjs backend").choices([...BACKEND_NAMES]).default("auto"))
    .addOption(
      new Option(
        "--weights <storage>",
        "how BF16 checkpoint weights are held: bf16 (2 bytes/parameter, widened inside each matmul; native backend) or f32",
      )
        .choices(["bf16", "f32"])
        .default("bf16"),
    )
    .option(
      "--tokenizer <path>",
      "SentencePiece model (default: MODEL/tokenizer.model, else the bundled LLaMA one)",
    )
    .option("--no-bos", "do not prepend BOS to the prompt")
    .option("--json", "print prompt, completion, ids and speed as JSON on stdout")
    .action(async (opts: GenerateCliOptions) => {
      await run(opts);
    });
}

async function run(opts: GenerateCliOptions): Promise<void> {
  const backend = await setBackend(opts.backend);
  const beside = join(opts.model, "tokenizer.model");
  const tokenizer = await LlamaTokenizer.load(opts.tokenizer ?? (existsSync(beside) ? beside : undefined));
  // Bad input fails before gigabytes of weights are read.
  const config = readHFConfig(opts.model);
  if (tokenizer.vocabSize > config.vocab_size)
    throw new Error(
      `${tokenizer.modelPath}: tokenizer has ${tokenizer.vocabSize} pieces but ${opts.model}/config.json has vocab_size ${config.vocab_size}`,
    );
  const promptIds = tokenizer.encode(opts.prompt, { bos: opts.bos });
  if (promptIds.length === 0) throw new Error("--prompt encodes to no tokens; give text or keep BOS");
  // Progress from the first byte: a 7B checkpoint takes a while to read.
  let progress: Progress | undefined;
  const loadStart = Date.now();
  let model: Awaited<ReturnType<typeof loadHFCheckpoint>>;
  try {
    model = await loadHFCheckpoint(opts.model, {
      weights: opts.weights,
      onProgress: (done, total) => {
        progress ??= createProgress("load", { total, unit: "MB", scale: 1e6, logEverySec: 5 });
        progress.update(done);
      },
    });
  } finally {
    progress?.stop();
  }
  const loadSeconds = (Date.now() - loadStart) / 1000;
  const weights = model.bf16Parameters().length > 0 ? "bf16" : "f32";
  process.stderr.write(
    `loaded ${opts.model} in ${loadSeconds.toFixed(1)} s: ${(model.parameterBytes() / 1e9).toFixed(2)} GB of weights (${weights === "bf16" ? "bfloat16, 2 bytes/parameter" : "float32"}) on ${await describeBackend()}\n`,
  );
  const bad = await firstNonFiniteParameter(model);
  if (bad)
    process.stderr.write(
      `warning: ${opts.model}: parameter ${bad.name} holds ${bad.value} (at index ${bad.index}): the checkpoint's weights are not finite\n`,
    );
  const start = Date.now();
  const tokens = createProgress("generate", { total: opts.maxNewTokens, unit: "tokens", logEverySec: 5 });
  tokens.update(0);
  let made = 0;
  let ids: number[];
  try {
    ids = await generate(model, promptIds, {
      maxNewTokens: opts.maxNewTokens,
      temperature: opts.temperature,
      topP: opts.topP,
      seed: opts.seed,
      eosTokenId: tokenizer.eosId,
      onToken: () => tokens.update(++made),
    });
  } catch (e) {
    // non-finite logits (GenerateError) and the like: name the checkpoint they came from
    throw e instanceof GenerateError ? new GenerateError(`${opts.model}: ${e.message}`) : e;
  } finally {
    tokens.stop();
  }
  const seconds = (Date.now() - start) / 1000;
  model.dispose();
  // Decode prompt and continuation together: SentencePiece drops a leading space when a piece
  // sequence is decoded on its own, so the continuation alone would glue to the prompt.
  const body = ids.filter((id) => id !== tokenizer.eosId);
  const promptText = tokenizer.decode(promptIds);
  const fullText = tokenizer.decode([...promptIds, ...body]);
  const completion = fullText.startsWith(promptText)
    ? fullText.slice(promptText.length)
    : tokenizer.decode(body);
  const tokensPerSecond = ids.length / Math.max(seconds, 1e-9);
  if (opts.json) {
    process.stdout.write(
      `${JSON.stringify({ prompt: opts.prompt, completion, promptIds, ids, backend, weights, loadSeconds, tokensPerSecond })}\n`,
    );
  } else {
    process.stdout.write(`${fullText}\n`);
    process.stderr.write(
      `${ids.length} tokens in ${seconds.toFixed(2)} s (${tokensPerSecond.toFixed(1)} tok/s, ${backend})\n`,
    );
  }
}
