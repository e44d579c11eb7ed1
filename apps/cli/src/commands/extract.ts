import { resolve } from "node:path";
import {
  ExtractInterrupted,
  type ExtractJobOptions,
  type ExtractJobResult,
  extractPile,
  PUBMED_SUBSETS,
  ZSTD_MAX_LEVEL,
  ZSTD_MIN_LEVEL,
} from "@biomed-llama/pile-reader";
import { createProgress, type Progress } from "@biomed-llama/progress";
import { type Command, InvalidArgumentError, Option } from "commander";

function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new InvalidArgumentError(`expected a non-negative integer, got "${value}"`);
  return n;
}

function zstdLevel(value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isInteger(n) || n < ZSTD_MIN_LEVEL || n > ZSTD_MAX_LEVEL)
    throw new InvalidArgumentError(
      `expected a zstd level from ${ZSTD_MIN_LEVEL} to ${ZSTD_MAX_LEVEL}, got "${value}"`,
    );
  return n;
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!(n > 0)) throw new InvalidArgumentError(`expected a positive number, got "${value}"`);
  return n;
}

/** The flags: the job's options under their flag names (--input, --max-shard-mb), plus --json. */
type ExtractOptions = Omit<
  ExtractJobOptions,
  "inputs" | "maxShardBytes" | "onStart" | "onProgress" | "interrupted"
> & {
  input: string[];
  maxShardMb: number;
  json?: boolean;
};

export function registerExtract(program: Command): void {
  program
    .command("extract")
    .description(
      "Keep chosen subsets of Pile shards (.jsonl.zst / .jsonl) and write them as per-subset .jsonl.zst shards plus manifest.json",
    )
    .requiredOption("--input <paths...>", "Pile shards: files, directories or globs (quote globs)")
    .option("--subsets <names...>", 'meta.pile_set_name values to keep, or "all"', [...PUBMED_SUBSETS])
    .requiredOption(
      "--out <dir>",
      "output directory (an existing non-empty one is refused; ranks of one job share it)",
    )
    .option(
      "--overwrite",
      "replace an existing --out (atomically at the end); with ranks, replace this rank's files only",
    )
    // Defaults follow torchrun's variables, so `biomed-llama launch ... extract` splits by itself.
    .option("--rank <r>", "this process's rank (default: $RANK or 0)", nonNegativeInt)
    .option("--world-size <w>", "number of ranks sharing the job (default: $WORLD_SIZE or 1)", nonNegativeInt)
    .addOption(
      new Option("--split-by <how>", "share work among ranks by global line index or by file")
        .choices(["line", "file"])
        .default("line"),
    )
    .addOption(
      new Option("--on-bad-line <what>", "a line that is not valid Pile JSON: stop, or skip and count it")
        .choices(["fail", "skip"])
        .default("fail"),
    )
    .option(
      "--max-shard-mb <mb>",
      "start a new shard after this many MB of uncompressed JSONL",
      positiveNumber,
      512,
    )
    .option("--level <n>", `zstd compression level, ${ZSTD_MIN_LEVEL} to ${ZSTD_MAX_LEVEL}`, zstdLevel, 3)
    .option("--json", "print the manifest as JSON on stdout")
    .action(
      async (opts: Omit<ExtractOptions, "rank" | "worldSize"> & { rank?: number; worldSize?: number }) => {
        const fromEnv = (name: string, def: number) => {
          const v = process.env[name];
          if (v === undefined || v === "") return def;
          try {
            return nonNegativeInt(v);
          } catch {
            throw new Error(`environment variable ${name}="${v}" is not a non-negative integer`);
          }
        };
        await extract({
          ...opts,
          rank: opts.rank ?? fromEnv("RANK", 0),
          worldSize: opts.worldSize ?? fromEnv("WORLD_SIZE", 1),
        });
      },
    );
}

async function extract(opts: ExtractOptions): Promise<void> {
  let interrupted: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupted = signal;
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  let progress: Progress | undefined;
  let totalBytes = 0;
  let r: ExtractJobResult;
  try {
    const { input, maxShardMb, json: _, ...job } = opts;
    r = await extractPile({
      ...job,
      inputs: input,
      maxShardBytes: maxShardMb * 1e6,
      onStart: (total) => {
        totalBytes = total;
        progress = createProgress("extract", { total, unit: "MB", scale: 1e6 });
      },
      onProgress: (bytes) => progress?.update(bytes),
      interrupted: () => interrupted,
    });
    progress?.update(totalBytes);
  } catch (err) {
    if (err instanceof ExtractInterrupted) {
      progress?.stop();
      process.stderr.write(`biomed-llama: ${err.message}; nothing was written to ${resolve(opts.out)}\n`);
      process.exit(130);
    }
    throw err;
  } finally {
    progress?.stop();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }

  if (opts.json) {
    process.stdout.write(`${JSON.stringify(r.manifest)}\n`);
    return;
  }
  const lines = Object.entries(r.stats.subsets).map(
    ([name, st]) => `  ${name}: ${st.docs} docs, ${(st.bytes / 1e6).toFixed(2)} MB of text`,
  );
  const skippedOther = Object.values(r.stats.skipped.otherSubsets).reduce((a, b) => a + b, 0);
  process.stdout.write(
    [
      `extract: ${r.stats.docs} docs from ${r.files} file(s) into ${r.manifest.shards.length} shard(s) in ${r.out}`,
      ...lines,
      `  skipped: ${skippedOther} in other subsets, ${r.stats.skipped.badLines} bad lines, ${r.stats.skipped.otherRanks} for other ranks`,
      `  manifest: ${r.manifestPath}`,
      "",
    ].join("\n"),
  );
}
