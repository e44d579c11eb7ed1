import { existsSync, rmSync, statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { basename, dirname, resolve } from "node:path";
import { checkPileSubsets, PileReader, type PileReaderOptions } from "@biomed-llama/pile-reader";
import { createProgress } from "@biomed-llama/progress";
import { checkOutput, writeFileAtomic } from "@biomed-llama/safe-files";
import {
  defaultTokenizerModelPath,
  IndexedDatasetWriter,
  LlamaTokenizer,
  optimalTokenDtype,
  type TokenDtype,
  tokenizeDocuments,
} from "@biomed-llama/tokenizer";
import { type Command, InvalidArgumentError, Option } from "commander";

interface TokenizeOptions {
  input: string[];
  out: string;
  tokenizer: string;
  workers: number;
  bos: boolean;
  appendEos: boolean;
  dtype?: TokenDtype;
  subsets: string[];
  overwrite?: boolean;
  json?: boolean;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  return n;
}

export function registerTokenize(program: Command): void {
  program
    .command("tokenize")
    .description(
      "Tokenize Pile-format documents (an extract output dir or .jsonl/.jsonl.zst files) with SentencePiece into a Megatron indexed dataset PREFIX.bin + PREFIX.idx",
    )
    .requiredOption("--input <paths...>", "extract output directories, .jsonl / .jsonl.zst files, or globs")
    .requiredOption(
      "--out <prefix>",
      "output prefix: writes PREFIX.bin, PREFIX.idx, PREFIX.stats.json (existing ones are refused)",
    )
    .option(
      "--overwrite",
      "replace an existing PREFIX.bin / .idx / .stats.json once the new ones are complete",
    )
    .option(
      "--tokenizer <llama|path>",
      'SentencePiece model: "llama" (bundled LLaMA-1/2) or a .model path',
      "llama",
    )
    .option("--workers <n>", "tokenizer worker threads", positiveInt, Math.max(1, availableParallelism()))
    .option("--no-bos", "do not prepend BOS to each document")
    .option(
      "--append-eos",
      "append EOS to each document (default; documents are stored as [BOS] ids [EOS])",
      true,
    )
    .option("--no-append-eos", "do not append EOS")
    .addOption(
      new Option(
        "--dtype <dtype>",
        "token dtype in the .bin (default: uint16 when the vocabulary fits)",
      ).choices(["uint16", "int32"]),
    )
    .option("--subsets <names...>", 'meta.pile_set_name values to keep, or "all"', ["all"])
    .option("--json", "print the summary as JSON on stdout")
    .action(async (opts: TokenizeOptions) => {
      await tokenize(opts);
    });
}

async function tokenize(opts: TokenizeOptions): Promise<void> {
  // Every check comes before any work: outputs, subsets, the tokenizer model, the inputs.
  const prefix = resolve(opts.out);
  const dir = dirname(prefix);
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new Error(`--out ${opts.out}: ${dir} is not an existing directory`);
  const outputs = [`${prefix}.bin`, `${prefix}.idx`, `${prefix}.stats.json`];
  for (const file of outputs) checkOutput(file, { flag: "--out", kind: "file", overwrite: opts.overwrite });
  let subsetsToKeep: readonly string[] | "all";
  try {
    subsetsToKeep = checkPileSubsets(opts.subsets);
  } catch (e) {
    throw new Error(`--subsets: ${(e as Error).message}`);
  }
  const modelPath = opts.tokenizer === "llama" ? defaultTokenizerModelPath() : resolve(opts.tokenizer);
  // Loaded here too: a bad model fails before any work, and the vocabulary picks the dtype.
  const tok = await LlamaTokenizer.load(modelPath).catch((e: Error) => {
    throw new Error(`--tokenizer ${e.message}`);
  });
  const dtype = opts.dtype ?? optimalTokenDtype(tok.vocabSize);
  if (dtype === "uint16" && tok.vocabSize > 65536)
    throw new Error(
      `--dtype uint16 cannot hold ${basename(modelPath)}'s ${tok.vocabSize} ids; use --dtype int32`,
    );

  let bytesRead = 0;
  let totalBytes = 0;
  const readerOpts: PileReaderOptions = {
    inputs: opts.input,
    subsets: subsetsToKeep,
    onProgress: (p) => {
      bytesRead = p.bytesRead;
      totalBytes = p.totalBytes;
    },
  };
  const reader = new PileReader(readerOpts);
  const files = await reader.files();
  if (files.length === 0) throw new Error(`no .jsonl or .jsonl.zst files found in ${opts.input.join(" ")}`);
  totalBytes = files.reduce((a, f) => a + f.bytes, 0);

  // Results come back in input order, so a FIFO of subset names pairs each with its document.
  const subsetOf: string[] = [];
  async function* texts(): AsyncGenerator<string> {
    for await (const doc of reader) {
      subsetOf.push(doc.meta.pile_set_name);
      yield doc.text;
    }
  }

  const writer = new IndexedDatasetWriter(prefix, { dtype });
  const onSignal = () => {
    writer.abort();
    process.stderr.write("\nbiomed-llama: tokenize interrupted; nothing written\n");
    process.exit(130);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const start = Date.now();
  const subsets: Record<string, { docs: number; tokens: number }> = {};
  let docs = 0;
  let tokens = 0;
  // Input MB drive the ETA; tokens/s is the throughput. Logs get a line every 10 s, the first 10 s in.
  const progress = createProgress("tokenize", {
    total: totalBytes,
    unit: "MB",
    scale: 1e6,
    detail: () => `${tokens} tokens`,
    rateText: (s) => `${Math.round(tokens / s.seconds)} tokens/s`,
    firstLine: "after-interval",
  });
  try {
    for await (const ids of tokenizeDocuments(texts(), {
      workers: opts.workers,
      modelPath,
      bos: opts.bos,
      appendEos: opts.appendEos,
    })) {
      writer.addDocument(ids);
      const s = subsetOf.shift() ?? "unknown";
      subsets[s] ??= { docs: 0, tokens: 0 };
      subsets[s].docs++;
      subsets[s].tokens += ids.length;
      docs++;
      tokens += ids.length;
      progress.update(bytesRead);
    }
    await writer.finalize();
  } catch (e) {
    writer.abort();
    throw e;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
  progress.update(totalBytes);
  progress.stop();
  const seconds = (Date.now() - start) / 1000;

  const summary = {
    prefix,
    bin: `${prefix}.bin`,
    idx: `${prefix}.idx`,
    format: "megatron-mmidx",
    tokenizer: modelPath,
    vocabSize: tok.vocabSize,
    dtype,
    layout: `${opts.bos ? "[BOS] " : ""}ids${opts.appendEos ? " [EOS]" : ""}`,
    docs,
    tokens,
    tokensPerDoc: docs ? tokens / docs : 0,
    subsets,
    inputs: files.map((f) => f.path),
    seconds,
    tokensPerSecond: seconds > 0 ? tokens / seconds : 0,
    workers: opts.workers,
  };
  const statsPath = `${prefix}.stats.json`;
  try {
    writeFileAtomic(statsPath, `${JSON.stringify(summary, null, 2)}\n`);
  } catch (e) {
    // A dataset without its stats is a half-written output: take back the .bin and .idx just written.
    rmSync(`${prefix}.idx`, { force: true });
    rmSync(`${prefix}.bin`, { force: true });
    throw e;
  }

  if (opts.json) {
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    return;
  }
  const perSubset = Object.entries(subsets).map(
    ([name, s]) =>
      `  ${name}: ${s.docs} docs, ${s.tokens} tokens (${(s.tokens / s.docs).toFixed(1)} tokens/doc)`,
  );
  process.stdout.write(
    [
      `tokenized ${docs} docs into ${tokens} tokens (${summary.tokensPerDoc.toFixed(1)} tokens/doc, ${dtype}, ${summary.layout})`,
      ...perSubset,
      `  ${Math.round(summary.tokensPerSecond)} tokens/s with ${opts.workers} worker${opts.workers === 1 ? "" : "s"}`,
      `  wrote ${prefix}.bin, ${prefix}.idx, ${statsPath}`,
      "",
    ].join("\n"),
  );
}
