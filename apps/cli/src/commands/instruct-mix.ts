import { dirname, join, resolve } from "node:path";
import {
  formatMixTable,
  type LoadedSource,
  loadMixConfig,
  type MixStats,
  runMix,
} from "@biomed-llama/instruct-mixer";
import { createProgress, type Progress } from "@biomed-llama/progress";
import { checkOutput } from "@biomed-llama/safe-files";
import { type Command, InvalidArgumentError } from "commander";

interface InstructMixOptions {
  config: string;
  out: string;
  stats?: string;
  seed?: number;
  draws?: number;
  dedup?: boolean;
  strict?: boolean;
  overwrite?: boolean;
  json?: boolean;
}

function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || value.trim() === "")
    throw new InvalidArgumentError(`expected a non-negative integer, got "${value}"`);
  return n;
}

/** Draw counts below this finish in well under a second; a bar would only flicker. */
const PROGRESS_MIN_DRAWS = 50_000;

export function registerInstructMix(program: Command): void {
  program
    .command("instruct-mix")
    .description(
      "Build the instruction-tuning mixture: read each source in its upstream format, draw N examples " +
        "with replacement (P ∝ samples × weight, or explicit proportions) and write trainer-ready JSONL " +
        "plus mix-stats.json.",
    )
    .requiredOption("--config <file>", "mix.json listing sources (adapter, path, weight or proportion)")
    .requiredOption(
      "--out <file>",
      "output JSONL ({source, instruction, input, output, template, prompt, completion})",
    )
    .option("--stats <file>", "where to write the statistics (default: mix-stats.json beside --out)")
    .option("--overwrite", "replace an existing --out / --stats file (atomically, at the end)")
    .option("--seed <n>", "seed of the xoshiro128** generator (default: config's, else 42)", nonNegativeInt)
    .option(
      "--draws <n>",
      "number of draws with replacement (default: config's, else 150000)",
      nonNegativeInt,
    )
    .option("--dedup", "drop duplicate (instruction, input, output) records before drawing")
    .option("--strict", "abort on the first malformed record instead of counting it")
    .option("--json", "print the statistics as JSON instead of the table")
    .action((opts: InstructMixOptions) => {
      // Outputs first: neither an existing mixture nor its stats is replaced without --overwrite.
      const out = resolve(opts.out);
      const statsPath = resolve(opts.stats ?? join(dirname(out), "mix-stats.json"));
      checkOutput(out, { flag: "--out", kind: "file", overwrite: opts.overwrite });
      if (statsPath === out) throw new Error(`--stats ${opts.stats}: is the --out file itself`);
      checkOutput(statsPath, { flag: "--stats", kind: "file", overwrite: opts.overwrite });
      const config = loadMixConfig(opts.config);
      if (opts.strict) config.strict = true;
      const log = (line: string) => process.stderr.write(`${line}\n`);
      let progress: Progress | undefined;
      const stats = runMix(config, {
        out,
        statsPath,
        ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
        ...(opts.draws !== undefined ? { draws: opts.draws } : {}),
        ...(opts.dedup ? { dedup: true } : {}),
        onLoaded: (s: LoadedSource) => {
          const n = s.strata.reduce((a, x) => a + x.records.length, 0);
          log(`loaded ${s.group}: ${n} records from ${s.config.path}`);
          if (s.malformed.length) {
            const m = s.malformed[0];
            log(
              `warning: ${s.malformed.length} malformed record(s) skipped in ${m.file} ` +
                `(first: record ${m.index}${m.key ? ` [${m.key}]` : ""}: ${m.reason})`,
            );
          }
        },
        onProgress: (done: number, total: number) => {
          if (total < PROGRESS_MIN_DRAWS) return;
          progress ??= createProgress("instruct-mix", { total, unit: "draws" });
          progress.update(done);
          if (done === total) progress.stop();
        },
      });
      printStats(stats, opts.json ?? false);
    });
}

function printStats(stats: MixStats, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(stats, null, 2)}\n`);
    return;
  }
  process.stdout.write(`${formatMixTable(stats.rows)}\n`);
  process.stdout.write(
    `\n${stats.draws} draws (seed ${stats.seed}, ${stats.prng}${stats.dedup ? ", deduplicated" : ""}) → ${stats.out}\n`,
  );
  if (stats.malformedTotal > 0) process.stdout.write(`${stats.malformedTotal} malformed record(s) skipped\n`);
}
