import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import {
  PILE_READER_VERSION,
  PileReader,
  type PileShardInfo,
  PileShardWriter,
  PUBMED_SUBSETS,
} from "@biomed-llama/pile-reader";
import { type Command, InvalidArgumentError, Option } from "commander";
import { createProgress, type Progress } from "../progress.js";

function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new InvalidArgumentError(`expected a non-negative integer, got "${value}"`);
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
    .requiredOption("--out <dir>", "output directory")
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
    .option("--level <n>", "zstd compression level", nonNegativeInt, 3)
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
  if (opts.worldSize < 1) throw new Error(`--world-size must be at least 1, got ${opts.worldSize}`);
  if (opts.rank >= opts.worldSize)
    throw new Error(`--rank ${opts.rank} is outside --world-size ${opts.worldSize}`);
  const subsets = opts.subsets.length === 1 && opts.subsets[0] === "all" ? "all" : opts.subsets;
  const out = resolve(opts.out);
  const multi = opts.worldSize > 1;
  // Ranks may share one --out: each names its shards and manifest after itself.
  const manifestName = multi ? `manifest.rank-${opts.rank}-of-${opts.worldSize}.json` : "manifest.json";
  if (existsSync(join(out, manifestName)))
    throw new Error(`${join(out, manifestName)} already exists; remove it or choose another --out`);
  // Shards of an earlier, unfinished run with the same names would collide at the very end: say so now.
  const mine = multi ? new RegExp(`-rank${opts.rank}-\\d{5}\\.jsonl\\.zst$`) : /-\d{5}\.jsonl\.zst$/;
  const stale = existsSync(out) ? readdirSync(out).find((f) => mine.test(f)) : undefined;
  if (stale) throw new Error(`${join(out, stale)} already exists; remove it or choose another --out`);

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

  // Everything is written into a hidden staging dir inside --out, moved into place when complete,
  // manifest last: a killed run leaves no file under a final name, only the staging dir.
  mkdirSync(out, { recursive: true });
  const stage = join(out, `.extract-rank${opts.rank}.tmp-${process.pid}`);
  const writer = new PileShardWriter({
    dir: stage,
    maxShardBytes: opts.maxShardMb * 1e6,
    level: opts.level,
    namePrefix: multi ? `rank${opts.rank}-` : "",
  });
  const cleanup = () => {
    writer.abort();
    rmSync(stage, { recursive: true, force: true });
  };
  const onSignal = (signal: NodeJS.Signals) => {
    cleanup();
    process.stderr.write(`biomed-llama: extract interrupted by ${signal}; nothing was written to ${out}\n`);
    process.exit(130);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  progress = createProgress("extract", totalBytes, { unit: "MB", scale: 1e6 });
  let shards: PileShardInfo[];
  try {
    for await (const doc of reader) writer.write(doc);
    shards = writer.close();
    progress.update(totalBytes);
    progress.stop();
    progress = undefined;
    for (const s of shards) {
      if (existsSync(join(out, s.file)))
        throw new Error(`${join(out, s.file)} already exists; remove it or choose another --out`);
    }
  } catch (err) {
    progress?.stop();
    cleanup();
    throw err;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
  for (const s of shards) renameSync(join(stage, s.file), join(out, s.file));

  const stats = reader.stats();
  const manifest = {
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
  const tmpManifest = join(stage, manifestName);
  writeFileSync(tmpManifest, `${JSON.stringify(manifest, null, 2)}\n`);
  renameSync(tmpManifest, join(out, manifestName));
  rmSync(stage, { recursive: true, force: true });

  if (opts.json) {
    process.stdout.write(`${JSON.stringify(manifest)}\n`);
    return;
  }
  const lines = Object.entries(stats.subsets).map(
    ([name, s]) => `  ${name}: ${s.docs} docs, ${(s.bytes / 1e6).toFixed(2)} MB of text`,
  );
  const skippedOther = Object.values(stats.skipped.otherSubsets).reduce((a, b) => a + b, 0);
  process.stdout.write(
    [
      `extract: ${stats.docs} docs from ${files.length} file(s) into ${shards.length} shard(s) in ${out}`,
      ...lines,
      `  skipped: ${skippedOther} in other subsets, ${stats.skipped.badLines} bad lines, ${stats.skipped.otherRanks} for other ranks`,
      `  manifest: ${join(out, manifestName)}`,
      "",
    ].join("\n"),
  );
}
