import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import {
  checkPileSubsets,
  PILE_READER_VERSION,
  PileReader,
  type PileShardInfo,
  PileShardWriter,
  PUBMED_SUBSETS,
  ZSTD_MAX_LEVEL,
  ZSTD_MIN_LEVEL,
} from "@biomed-llama/pile-reader";
import { checkOutput, makeParents, writeDirAtomic, writeFileAtomic } from "@biomed-llama/safe-files";
import { type Command, InvalidArgumentError, Option } from "commander";
import { createProgress, type Progress } from "../progress.js";

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

interface ExtractOptions {
  input: string[];
  subsets: string[];
  out: string;
  rank: number;
  worldSize: number;
  splitBy: "line" | "file";
  onBadLine: "fail" | "skip";
  maxShardMb: number;
  level: number;
  overwrite?: boolean;
  json?: boolean;
}

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

/** A signal arrived: the run stops at the next document and cleans up like any failure. */
class Interrupted extends Error {
  constructor(readonly signal: NodeJS.Signals) {
    super(`extract interrupted by ${signal}`);
  }
}

async function extract(opts: ExtractOptions): Promise<void> {
  // Every check comes before any work and before anything is created.
  if (opts.worldSize < 1) throw new Error(`--world-size must be at least 1, got ${opts.worldSize}`);
  if (opts.rank >= opts.worldSize)
    throw new Error(`--rank ${opts.rank} is outside --world-size ${opts.worldSize}`);
  let subsets: readonly string[] | "all";
  try {
    subsets = checkPileSubsets(opts.subsets);
  } catch (e) {
    throw new Error(`--subsets: ${(e as Error).message}`);
  }
  const out = resolve(opts.out);
  const multi = opts.worldSize > 1;
  // Ranks may share one --out: each names its shards and manifest after itself.
  const manifestName = multi ? `manifest.rank-${opts.rank}-of-${opts.worldSize}.json` : "manifest.json";
  const mine = multi ? new RegExp(`-rank${opts.rank}-\\d{5}\\.jsonl\\.zst$`) : /-\d{5}\.jsonl\.zst$/;
  if (multi) checkRankOutput(out, manifestName, mine, opts.overwrite ?? false);
  else checkOutput(out, { flag: "--out", kind: "dir", overwrite: opts.overwrite });

  let progress: Progress | undefined;
  const reader = new PileReader({
    inputs: opts.input,
    subsets,
    rank: opts.rank,
    worldSize: opts.worldSize,
    splitBy: opts.splitBy,
    onBadLine: opts.onBadLine,
    onProgress: (p) => progress?.update(p.bytesRead, { docs: p.docs }),
  });
  const files = await reader.files();
  const totalBytes = files.reduce((n, f) => n + f.bytes, 0);

  let interrupted: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupted = signal;
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  // Shards and manifest are written into a staging directory and moved into place when complete,
  // manifest last: a failed or killed run leaves nothing under a final name, and no directory.
  let staging: string | undefined;
  const fill = async (stage: string) => {
    staging = stage;
    const writer = new PileShardWriter({
      dir: stage,
      maxShardBytes: opts.maxShardMb * 1e6,
      level: opts.level,
      namePrefix: multi ? `rank${opts.rank}-` : "",
    });
    progress = createProgress("extract", totalBytes, { unit: "MB", scale: 1e6 });
    try {
      for await (const doc of reader) {
        if (interrupted) throw new Interrupted(interrupted);
        writer.write(doc);
      }
      if (interrupted) throw new Interrupted(interrupted);
      const shards = writer.close();
      progress.update(totalBytes);
      progress.stop();
      progress = undefined;
      const manifest = manifestOf(opts, subsets, files, reader, shards);
      writeFileAtomic(join(stage, manifestName), `${JSON.stringify(manifest, null, 2)}\n`);
      return manifest;
    } catch (err) {
      progress?.stop();
      writer.abort();
      throw err;
    }
  };
  let manifest: ReturnType<typeof manifestOf>;
  try {
    manifest = multi
      ? await writeRankFiles(out, manifestName, mine, fill)
      : await writeDirAtomic(out, fill, { replace: opts.overwrite, flag: "--out" });
  } catch (err) {
    if (err instanceof Interrupted) {
      process.stderr.write(`biomed-llama: ${err.message}; nothing was written to ${out}\n`);
      process.exit(130);
    }
    // Errors of files in the staging directory name them where they were going.
    if (staging && err instanceof Error) err.message = err.message.split(staging).join(out);
    throw err;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }

  if (opts.json) {
    process.stdout.write(`${JSON.stringify(manifest)}\n`);
    return;
  }
  const stats = reader.stats();
  const lines = Object.entries(stats.subsets).map(
    ([name, s]) => `  ${name}: ${s.docs} docs, ${(s.bytes / 1e6).toFixed(2)} MB of text`,
  );
  const skippedOther = Object.values(stats.skipped.otherSubsets).reduce((a, b) => a + b, 0);
  process.stdout.write(
    [
      `extract: ${stats.docs} docs from ${files.length} file(s) into ${manifest.shards.length} shard(s) in ${out}`,
      ...lines,
      `  skipped: ${skippedOther} in other subsets, ${stats.skipped.badLines} bad lines, ${stats.skipped.otherRanks} for other ranks`,
      `  manifest: ${join(out, manifestName)}`,
      "",
    ].join("\n"),
  );
}

function manifestOf(
  opts: ExtractOptions,
  subsets: readonly string[] | "all",
  files: { path: string; bytes: number }[],
  reader: PileReader,
  shards: PileShardInfo[],
) {
  const stats = reader.stats();
  return {
    format: "pile-jsonl-zst",
    reader: "@biomed-llama/pile-reader",
    readerVersion: PILE_READER_VERSION,
    createdAt: new Date().toISOString(),
    subsets,
    rank: opts.rank,
    worldSize: opts.worldSize,
    splitBy: opts.splitBy,
    onBadLine: opts.onBadLine,
    sources: files.map((f) => ({ path: f.path, bytes: f.bytes })),
    docs: stats.docs,
    bytes: stats.bytes,
    perSubset: stats.subsets,
    skipped: stats.skipped,
    linesRead: stats.linesRead,
    shards,
  };
}

/** This rank's files in a shared --out: its manifest and its shards (an unfinished run's too). */
function rankFiles(out: string, manifestName: string, mine: RegExp): string[] {
  if (!existsSync(out)) return [];
  return readdirSync(out).filter((f) => f === manifestName || mine.test(f));
}

/**
 * Ranks share --out, so only this rank's own files count: refused when any exist, unless
 * --overwrite. The directory itself may hold other ranks' files.
 */
function checkRankOutput(out: string, manifestName: string, mine: RegExp, overwrite: boolean): void {
  if (existsSync(out)) checkOutput(out, { flag: "--out", kind: "dir", overwrite: true });
  else checkOutput(out, { flag: "--out", kind: "dir" });
  const existing = rankFiles(out, manifestName, mine);
  if (existing.length && !overwrite)
    throw new Error(
      `--out ${out}: already holds this rank's ${join(out, existing[0])}; pass --overwrite to replace this rank's files, or pick another path`,
    );
}

/**
 * One rank's share of a shared --out: built in a staging directory inside it, then this rank's old
 * files (only with --overwrite, checked before) are removed and the new ones moved in, manifest
 * last. On failure the staging directory goes, and so does --out if this run created it and it is
 * still empty.
 */
async function writeRankFiles<T>(
  out: string,
  manifestName: string,
  mine: RegExp,
  fill: (stage: string) => Promise<T>,
): Promise<T> {
  const undo = makeParents(out);
  const stage = join(out, `.extract-${manifestName}.tmp-${process.pid}`);
  try {
    mkdirSync(stage);
    const result = await fill(stage);
    for (const f of rankFiles(out, manifestName, mine)) rmSync(join(out, f), { force: true });
    const names = readdirSync(stage).filter((f) => f !== manifestName);
    for (const f of names) renameSync(join(stage, f), join(out, f));
    renameSync(join(stage, manifestName), join(out, manifestName));
    rmSync(stage, { recursive: true, force: true });
    return result;
  } catch (err) {
    rmSync(stage, { recursive: true, force: true });
    undo();
    throw err;
  }
}
