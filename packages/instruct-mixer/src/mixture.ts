import { Xoshiro128StarStar } from "@biomed-llama/seeded-random";
import { InstructMixerError } from "./errors.js";
import type { InstructRecord } from "./record.js";

/** One mixing stratum: the records sharing a `source` value (e.g. "usmleqa/medpalm"). */
export interface StratumSpec {
  source: string;
  /** The configured source it came from ("medpalm" for "usmleqa/medpalm"). */
  group: string;
  count: number;
  weight: number;
}

/** A configured source: its strata and, optionally, an explicit share of the mixture. */
export interface GroupSpec {
  name: string;
  strata: StratumSpec[];
  proportion?: number;
}

export interface PlannedStratum extends StratumSpec {
  /** Probability that one draw comes from this stratum. */
  target: number;
}

/**
 * The seed's scheme: P(stratum) = count × weight / Σ count × weight (its `n_epoch_per_source`
 * × sample count, normalised). With explicit proportions on every group instead,
 * P(stratum) = proportion(group) / Σ proportions × (count × weight within the group).
 * Within a stratum every record is equally likely, so P(record) ∝ weight of its stratum.
 */
export function planMixture(groups: GroupSpec[]): PlannedStratum[] {
  const withProportion = groups.filter((g) => g.proportion !== undefined);
  if (withProportion.length > 0 && withProportion.length < groups.length)
    throw new InstructMixerError(
      `either every source has a "proportion" or none does (missing on ${groups
        .filter((g) => g.proportion === undefined)
        .map((g) => `"${g.name}"`)
        .join(", ")})`,
    );
  for (const g of groups) {
    if (g.proportion !== undefined && !(g.proportion >= 0 && Number.isFinite(g.proportion)))
      throw new InstructMixerError(`source "${g.name}": proportion must be a finite number >= 0`);
    for (const s of g.strata)
      if (!(s.weight >= 0 && Number.isFinite(s.weight)))
        throw new InstructMixerError(`source "${s.source}": weight must be a finite number >= 0`);
  }
  const mass = (s: StratumSpec) => s.count * s.weight;
  const planned: PlannedStratum[] = [];
  if (withProportion.length === 0) {
    const total = groups.reduce((acc, g) => acc + g.strata.reduce((a, s) => a + mass(s), 0), 0);
    if (!(total > 0))
      throw new InstructMixerError("the mixture is empty: no source has records with weight > 0");
    for (const g of groups) for (const s of g.strata) planned.push({ ...s, target: mass(s) / total });
    return planned;
  }
  const totalProportion = groups.reduce((acc, g) => acc + (g.proportion ?? 0), 0);
  if (!(totalProportion > 0)) throw new InstructMixerError("the proportions sum to zero");
  for (const g of groups) {
    const share = (g.proportion ?? 0) / totalProportion;
    const inner = g.strata.reduce((a, s) => a + mass(s), 0);
    if (share > 0 && !(inner > 0))
      throw new InstructMixerError(`source "${g.name}" has proportion > 0 but no records with weight > 0`);
    for (const s of g.strata) planned.push({ ...s, target: share > 0 ? (share * mass(s)) / inner : 0 });
  }
  return planned;
}

export interface DrawOptions {
  draws: number;
  seed: number;
  /** Called every `progressEvery` draws and at the end. */
  onProgress?: (done: number, total: number) => void;
  progressEvery?: number;
}

/**
 * `draws` independent draws with replacement: a stratum by its target probability (inverse
 * CDF on a 53-bit uniform), then a record uniformly within it — the seed's
 * random.choices-then-random.choice, on a documented generator. `pools[i]` holds the records
 * of `plan[i]`. Yields stratum and record indices so callers can stream the output.
 */
export function* drawMixture(
  plan: PlannedStratum[],
  pools: ReadonlyArray<ReadonlyArray<InstructRecord>>,
  opts: DrawOptions,
): Generator<{ stratum: number; index: number }> {
  if (!Number.isInteger(opts.draws) || opts.draws < 0)
    throw new InstructMixerError(`draws must be a whole number >= 0 (got ${opts.draws})`);
  if (pools.length !== plan.length) throw new InstructMixerError("one record pool per planned stratum");
  plan.forEach((p, i) => {
    if (p.target > 0 && pools[i].length === 0)
      throw new InstructMixerError(`source "${p.source}" has target > 0 but no records`);
  });
  const cdf = new Float64Array(plan.length);
  let acc = 0;
  plan.forEach((p, i) => {
    acc += p.target;
    cdf[i] = acc;
  });
  let last = 0;
  plan.forEach((p, i) => {
    if (p.target > 0) last = i;
  });
  const rng = new Xoshiro128StarStar(opts.seed);
  const every = opts.progressEvery ?? 10000;
  for (let d = 0; d < opts.draws; d++) {
    const u = rng.nextFloat() * acc;
    let lo = 0;
    let hi = last;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] > u) hi = mid;
      else lo = mid + 1;
    }
    yield { stratum: lo, index: rng.nextBelow(pools[lo].length) };
    if (opts.onProgress && (d + 1) % every === 0) opts.onProgress(d + 1, opts.draws);
  }
  opts.onProgress?.(opts.draws, opts.draws);
}

/**
 * Drop records whose (instruction, input, output) already occurred, across all pools in order
 * (first occurrence wins). Returns the filtered pools and how many each lost.
 */
export function dedupRecords(pools: ReadonlyArray<ReadonlyArray<InstructRecord>>): {
  pools: InstructRecord[][];
  removed: number[];
} {
  const seen = new Set<string>();
  const removed: number[] = [];
  const kept = pools.map((pool) => {
    const out: InstructRecord[] = [];
    for (const r of pool) {
      const key = `${r.instruction}\u0000${r.input}\u0000${r.output}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(r);
    }
    removed.push(pool.length - out.length);
    return out;
  });
  return { pools: kept, removed };
}
