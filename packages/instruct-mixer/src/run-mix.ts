import { closeSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { ioError, makeParents, tempPathFor } from "@biomed-llama/safe-files";
import { ADAPTERS } from "./adapters/registry.js";
import { MixConfigError } from "./errors.js";
import { formatPrompt } from "./format-prompt.js";
import type { MixConfig, MixSourceConfig } from "./mix-config.js";
import { dedupRecords, drawMixture, type GroupSpec, planMixture, type StratumSpec } from "./mixture.js";
import type { InstructRecord, MalformedRecord } from "./record.js";

/** The seed drew 150,000 examples (3 epochs × 50,000). */
export const DEFAULT_DRAWS = 150_000;
export const DEFAULT_SEED = 42;

export interface LoadedSource {
  config: MixSourceConfig;
  group: string;
  strata: { spec: StratumSpec; records: InstructRecord[] }[];
  malformed: MalformedRecord[];
}

/** Run every source's adapter and split its records into strata by `record.source`. */
export function loadMixSources(config: MixConfig, onLoaded?: (s: LoadedSource) => void): LoadedSource[] {
  return config.sources.map((src) => {
    const adapter = ADAPTERS[src.adapter] as (f: string, o: object) => ReturnType<typeof ADAPTERS.medqa>;
    const result = adapter(src.path, {
      ...src.options,
      ...(src.name !== undefined ? { name: src.name } : {}),
      strict: src.options?.strict ?? config.strict ?? false,
    });
    const bySource = new Map<string, InstructRecord[]>();
    for (const r of result.records) {
      const pool = bySource.get(r.source);
      if (pool) pool.push(r);
      else bySource.set(r.source, [r]);
    }
    const names = [...bySource.keys()];
    const group = src.name ?? groupName(names, src.path);
    const strata = names.map((source) => {
      const records = bySource.get(source)!;
      return {
        spec: { source, group, count: records.length, weight: stratumWeight(src, group, source) },
        records,
      };
    });
    const subsets = new Set(names.map((n) => subsetOf(group, n)));
    const unused = Object.keys(src.subsetWeights ?? {}).filter((k) => !subsets.has(k));
    if (unused.length)
      throw new MixConfigError(src.path, `subsetWeights names no subset of "${group}": ${unused.join(", ")}`);
    const loaded = { config: src, group, strata, malformed: result.malformed };
    onLoaded?.(loaded);
    return loaded;
  });
}

/** "usmleqa" for stratum "usmleqa/medpalm" of group "medpalm"; undefined for a stratum without subset. */
function subsetOf(group: string, stratum: string): string | undefined {
  return stratum.endsWith(`/${group}`) ? stratum.slice(0, -group.length - 1) : undefined;
}

/**
 * A stratum's weight: its subset's entry in `subsetWeights` if there is one, else the source's
 * `weight`, else 1.
 */
export function stratumWeight(
  src: Pick<MixSourceConfig, "weight" | "subsetWeights">,
  group: string,
  stratum: string,
): number {
  const subset = subsetOf(group, stratum);
  if (subset !== undefined && src.subsetWeights && Object.hasOwn(src.subsetWeights, subset))
    return src.subsetWeights[subset];
  return src.weight ?? 1;
}

/** "usmleqa/medpalm", "liveqa/medpalm" → "medpalm"; a single stratum names itself. */
function groupName(strata: string[], path: string): string {
  if (strata.length === 1) return strata[0];
  const suffixes = new Set(strata.map((s) => s.slice(s.lastIndexOf("/") + 1)));
  if (strata.length > 1 && suffixes.size === 1) return [...suffixes][0];
  return basename(path);
}

export interface MixRow {
  source: string;
  group: string;
  samples: number;
  weight: number;
  /** Probability of a draw, 0..1. */
  target: number;
  drawn: number;
  /** drawn / draws, 0..1. */
  realised: number;
  duplicatesRemoved: number;
}

export interface MixStats {
  out: string;
  draws: number;
  seed: number;
  dedup: boolean;
  prng: string;
  rows: MixRow[];
  sources: { group: string; adapter: string; path: string; records: number; malformed: number }[];
  /** The first malformed records per file (all are counted in `sources[].malformed`). */
  malformedExamples: MalformedRecord[];
  malformedTotal: number;
}

export interface RunMixOptions {
  out: string;
  /** Defaults to mix-stats.json beside `out`. */
  statsPath?: string;
  draws?: number;
  seed?: number;
  dedup?: boolean;
  onLoaded?: (s: LoadedSource) => void;
  onProgress?: (done: number, total: number) => void;
}

/**
 * Load, plan, draw and write: `out` gets one JSON object per draw ({source, instruction,
 * input, output, template, prompt, completion}), the stats file the table. Both are written
 * to temporary files beside them and renamed into place together at the end, so a failure leaves
 * nothing half-written and no directory it had to create; existing files at `out` and the stats
 * path are replaced (callers that must not replace them check first, as the CLI does).
 */
export function runMix(config: MixConfig, opts: RunMixOptions): MixStats {
  const draws = opts.draws ?? config.draws ?? DEFAULT_DRAWS;
  const seed = opts.seed ?? config.seed ?? DEFAULT_SEED;
  const dedup = opts.dedup ?? config.dedup ?? false;
  const loaded = loadMixSources(config, opts.onLoaded);

  const flat = loaded.flatMap((l) => l.strata);
  let pools = flat.map((s) => s.records);
  let removed = flat.map(() => 0);
  if (dedup) ({ pools, removed } = dedupRecords(pools));
  const groups: GroupSpec[] = loaded.map((l) => ({
    name: l.group,
    strata: l.strata.map((s) => ({ ...s.spec, count: pools[flat.indexOf(s)].length })),
    ...(l.config.proportion !== undefined ? { proportion: l.config.proportion } : {}),
  }));
  const plan = planMixture(groups);

  const out = resolve(opts.out);
  const statsPath = resolve(opts.statsPath ?? join(dirname(out), "mix-stats.json"));
  if (statsPath === out) throw new MixConfigError(out, "the stats file and the output are the same file");
  const drawn = plan.map(() => 0);
  const undo = [makeParents(dirname(out)), makeParents(dirname(statsPath))];
  const temps: string[] = [];
  try {
    temps.push(
      writeTemp(out, (write) => {
        for (const { stratum, index } of drawMixture(plan, pools, {
          draws,
          seed,
          onProgress: opts.onProgress,
        })) {
          drawn[stratum]++;
          const r = pools[stratum][index];
          const { prompt, completion } = formatPrompt(r);
          write(
            `${JSON.stringify({
              source: r.source,
              instruction: r.instruction,
              input: r.input,
              output: r.output,
              template: r.template ?? "alpaca",
              prompt,
              completion,
            })}\n`,
          );
        }
      }),
    );
    const stats = mixStats(out, draws, seed, dedup, plan, drawn, removed, loaded);
    temps.push(writeTemp(statsPath, (write) => write(`${JSON.stringify(stats, null, 2)}\n`)));
    renameInto(temps[0], out);
    renameInto(temps[1], statsPath);
    return stats;
  } catch (err) {
    for (const t of temps) rmSync(t, { force: true });
    for (const u of undo.reverse()) u();
    throw err;
  }
}

function mixStats(
  out: string,
  draws: number,
  seed: number,
  dedup: boolean,
  plan: ReturnType<typeof planMixture>,
  drawn: number[],
  removed: number[],
  loaded: LoadedSource[],
): MixStats {
  const malformed = loaded.flatMap((l) => l.malformed);
  const stats: MixStats = {
    out,
    draws,
    seed,
    dedup,
    prng: "xoshiro128** seeded by splitmix64",
    rows: plan.map((p, i) => ({
      source: p.source,
      group: p.group,
      samples: p.count,
      weight: p.weight,
      target: p.target,
      drawn: drawn[i],
      realised: draws > 0 ? drawn[i] / draws : 0,
      duplicatesRemoved: removed[i],
    })),
    sources: loaded.map((l) => ({
      group: l.group,
      adapter: l.config.adapter,
      path: l.config.path,
      records: l.strata.reduce((a, s) => a + s.records.length, 0),
      malformed: l.malformed.length,
    })),
    malformedExamples: loaded.flatMap((l) => l.malformed.slice(0, 5)),
    malformedTotal: malformed.length,
  };
  return stats;
}

function renameInto(tmp: string, file: string): void {
  try {
    renameSync(tmp, file);
  } catch (e) {
    throw ioError(e, file);
  }
}

/**
 * Writes `body`'s chunks to a temp file beside `file` (buffered, 1 MiB writes) and returns its
 * path; on error the temp file is removed and the error names `file`.
 */
function writeTemp(file: string, body: (write: (chunk: string) => void) => void): string {
  const tmp = tempPathFor(file);
  let fd = -1;
  let buffer: string[] = [];
  let size = 0;
  const flush = () => {
    if (buffer.length) {
      const bytes = Buffer.from(buffer.join(""));
      let off = 0;
      try {
        while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
      } catch (e) {
        throw ioError(e, file);
      }
    }
    buffer = [];
    size = 0;
  };
  try {
    try {
      fd = openSync(tmp, "wx", 0o644);
    } catch (e) {
      throw ioError(e, file);
    }
    body((chunk) => {
      buffer.push(chunk);
      size += chunk.length;
      if (size > 1 << 20) flush();
    });
    flush();
    const closing = fd;
    fd = -1;
    try {
      closeSync(closing);
    } catch (e) {
      throw ioError(e, file);
    }
    return tmp;
  } catch (err) {
    if (fd >= 0)
      try {
        closeSync(fd);
      } catch {}
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** Write through a temp file in the target's folder, then rename over the target. */
export function writeAtomically(file: string, body: (write: (chunk: string) => void) => void): void {
  const undo = makeParents(dirname(file));
  let tmp: string | undefined;
  try {
    tmp = writeTemp(file, body);
    renameInto(tmp, file);
  } catch (err) {
    if (tmp) rmSync(tmp, { force: true });
    undo();
    throw err;
  }
}
