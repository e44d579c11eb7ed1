import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { checkOutput, makeParents, writeDirAtomic, writeFileAtomic } from "@biomed-llama/safe-files";
import pkg from "../package.json";
import { PileError } from "./errors.js";
import { PileReader } from "./pile-reader.js";
import { checkPileSubsets } from "./pile-subsets.js";
import { type PileShardInfo, PileShardWriter } from "./shard-writer.js";
import type { PileStats } from "./stats.js";

export interface ExtractJobOptions {
  /** Pile shards: files, directories or globs. */
  inputs: string[];
  /** `meta.pile_set_name` values to keep, or ["all"]. */
  subsets: string[];
  /** Output directory; ranks of one job may share it. */
  out: string;
  rank: number;
  worldSize: number;
  splitBy: "line" | "file";
  onBadLine: "fail" | "skip";
  /** A new shard starts after this many bytes of uncompressed JSONL. */
  maxShardBytes: number;
  /** zstd level. */
  level: number;
  /** Replace an existing non-empty output (with ranks: this rank's files only). */
  overwrite?: boolean;
  /** Once the inputs are known, before any document is read. */
  onStart?: (totalBytes: number, files: number) => void;
  /** Bytes of input read so far and documents kept. */
  onProgress?: (bytesRead: number, docs: number) => void;
  /** Asked between documents: a reason to stop (a signal's name) ends the job as ExtractInterrupted. */
  interrupted?: () => string | undefined;
}

/** The job stopped on request (`interrupted`): nothing was written. */
export class ExtractInterrupted extends PileError {
  constructor(readonly reason: string) {
    super(`extract interrupted by ${reason}`);
  }
}

export interface ExtractManifest {
  format: "pile-jsonl-zst";
  reader: "@biomed-llama/pile-reader";
  readerVersion: string;
  createdAt: string;
  subsets: readonly string[] | "all";
  rank: number;
  worldSize: number;
  splitBy: "line" | "file";
  onBadLine: "fail" | "skip";
  sources: { path: string; bytes: number }[];
  docs: number;
  bytes: number;
  perSubset: PileStats["subsets"];
  skipped: PileStats["skipped"];
  linesRead: number;
  shards: PileShardInfo[];
}

export interface ExtractJobResult {
  /** Absolute output directory. */
  out: string;
  manifestPath: string;
  manifest: ExtractManifest;
  stats: PileStats;
  files: number;
}

/**
 * `biomed-llama extract` as a job: checks everything before any work, reads this rank's share of the
 * inputs, keeps the chosen subsets and writes per-subset `.jsonl.zst` shards plus a manifest. Shards
 * and manifest are built in a staging directory and moved into place when complete, manifest last:
 * a failed or interrupted job leaves nothing under a final name (and no directory it created). With
 * several ranks on one `--out` each rank names its files after itself and only its own files are
 * refused or replaced.
 */
export async function extractPile(o: ExtractJobOptions): Promise<ExtractJobResult> {
  if (o.worldSize < 1) throw new PileError(`--world-size must be at least 1, got ${o.worldSize}`);
  if (o.rank >= o.worldSize) throw new PileError(`--rank ${o.rank} is outside --world-size ${o.worldSize}`);
  let subsets: readonly string[] | "all";
  try {
    subsets = checkPileSubsets(o.subsets);
  } catch (e) {
    throw new PileError(`--subsets: ${(e as Error).message}`);
  }
  const out = resolve(o.out);
  const multi = o.worldSize > 1;
  const manifestName = multi ? `manifest.rank-${o.rank}-of-${o.worldSize}.json` : "manifest.json";
  const mine = multi ? new RegExp(`-rank${o.rank}-\\d{5}\\.jsonl\\.zst$`) : /-\d{5}\.jsonl\.zst$/;
  if (multi) checkRankOutput(out, manifestName, mine, o.overwrite ?? false);
  else checkOutput(out, { flag: "--out", kind: "dir", overwrite: o.overwrite });

  const reader = new PileReader({
    inputs: o.inputs,
    subsets,
    rank: o.rank,
    worldSize: o.worldSize,
    splitBy: o.splitBy,
    onBadLine: o.onBadLine,
    onProgress: (p) => o.onProgress?.(p.bytesRead, p.docs),
  });
  const files = await reader.files();
  const totalBytes = files.reduce((n, f) => n + f.bytes, 0);

  let staging: string | undefined;
  const fill = async (stage: string): Promise<ExtractManifest> => {
    staging = stage;
    const writer = new PileShardWriter({
      dir: stage,
      maxShardBytes: o.maxShardBytes,
      level: o.level,
      namePrefix: multi ? `rank${o.rank}-` : "",
    });
    o.onStart?.(totalBytes, files.length);
    try {
      for await (const doc of reader) {
        const why = o.interrupted?.();
        if (why) throw new ExtractInterrupted(why);
        writer.write(doc);
      }
      const why = o.interrupted?.();
      if (why) throw new ExtractInterrupted(why);
      const shards = writer.close();
      const stats = reader.stats();
      const manifest: ExtractManifest = {
        format: "pile-jsonl-zst",
        reader: "@biomed-llama/pile-reader",
        readerVersion: pkg.version,
        createdAt: new Date().toISOString(),
        subsets,
        rank: o.rank,
        worldSize: o.worldSize,
        splitBy: o.splitBy,
        onBadLine: o.onBadLine,
        sources: files.map((f) => ({ path: f.path, bytes: f.bytes })),
        docs: stats.docs,
        bytes: stats.bytes,
        perSubset: stats.subsets,
        skipped: stats.skipped,
        linesRead: stats.linesRead,
        shards,
      };
      writeFileAtomic(join(stage, manifestName), `${JSON.stringify(manifest, null, 2)}\n`);
      return manifest;
    } catch (err) {
      writer.abort();
      throw err;
    }
  };
  let manifest: ExtractManifest;
  try {
    manifest = multi
      ? await writeRankFiles(out, manifestName, mine, fill)
      : await writeDirAtomic(out, fill, { replace: o.overwrite, flag: "--out" });
  } catch (err) {
    // Errors of files in the staging directory name them where they were going.
    if (staging && err instanceof Error) err.message = err.message.split(staging).join(out);
    throw err;
  }
  return { out, manifestPath: join(out, manifestName), manifest, stats: reader.stats(), files: files.length };
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
    throw new PileError(
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
