import { ConfigError } from "./errors.js";
import { Rng, seededPermutation } from "./rng.js";

export interface BatchPlanOptions {
  /** Sequences in the data source (packed blocks or truncated documents). */
  numSequences: number;
  /** G: sequences per optimizer step, over all data-parallel ranks. */
  globalBatch: number;
  /** m: sequences per forward/backward on one rank. */
  microBatch: number;
  /** W: data-parallel ranks (every rank of the process group; hybrid replicas included). */
  dpRanks: number;
  order: "sequential" | "shuffle";
  seed: number;
}

/** Where a run stands in its data; saved in every checkpoint. */
export interface DataCursor {
  /** Optimizer steps completed = the next global step to run. */
  step: number;
  epoch: number;
  stepInEpoch: number;
  sequencesConsumed: number;
  numSequences: number;
  globalBatch: number;
  order: "sequential" | "shuffle";
  seed: number;
}

/** Seed of epoch e's permutation: distinct per epoch, a pure function of (seed, epoch). */
export function epochSeed(seed: number, epoch: number): number {
  return new Rng((seed ^ Math.imul(epoch + 1, 0x9e3779b9)) >>> 0).nextUint32();
}

/**
 * The exact mapping of sequence indices to (step, rank, micro-step):
 *
 * - epoch e orders the N sequences by π_e: the identity (`sequential`) or a Fisher–Yates
 *   permutation seeded by epochSeed(seed, e) (`shuffle`); an epoch has ⌊N/G⌋ steps, the last
 *   N mod G sequences of π_e are not used in that epoch;
 * - global step t is step s = t mod ⌊N/G⌋ of epoch e = ⌊t / ⌊N/G⌋⌋ and takes positions
 *   [s·G, (s+1)·G) of π_e;
 * - rank r takes the contiguous slice [s·G + r·G/W, s·G + (r+1)·G/W);
 * - micro-step k (of A = G/(m·W)) on rank r takes [k·m, (k+1)·m) of the rank's slice.
 *
 * The mapping depends only on (N, G, order, seed), not on m or W, so every split of a step into
 * ranks and micro-batches sees the same G sequences.
 */
export class BatchPlan {
  readonly numSequences: number;
  readonly globalBatch: number;
  readonly microBatch: number;
  readonly dpRanks: number;
  readonly accumulation: number;
  readonly stepsPerEpoch: number;
  readonly order: "sequential" | "shuffle";
  readonly seed: number;
  private cachedEpoch = -1;
  private cachedPerm: Uint32Array | null = null;

  constructor(o: BatchPlanOptions) {
    const problems: string[] = [];
    if (o.globalBatch % (o.microBatch * o.dpRanks) !== 0)
      problems.push(
        `global_batch: ${o.globalBatch} is not divisible by micro_batch × ranks = ${o.microBatch} × ${o.dpRanks}`,
      );
    if (o.numSequences < o.globalBatch)
      problems.push(`data: ${o.numSequences} sequences is fewer than one global batch of ${o.globalBatch}`);
    if (problems.length) throw new ConfigError("batch plan", problems);
    this.numSequences = o.numSequences;
    this.globalBatch = o.globalBatch;
    this.microBatch = o.microBatch;
    this.dpRanks = o.dpRanks;
    this.accumulation = o.globalBatch / (o.microBatch * o.dpRanks);
    this.stepsPerEpoch = Math.floor(o.numSequences / o.globalBatch);
    this.order = o.order;
    this.seed = o.seed;
  }

  private positionToIndex(epoch: number, pos: number): number {
    if (this.order === "sequential") return pos;
    if (this.cachedEpoch !== epoch) {
      this.cachedPerm = seededPermutation(this.numSequences, epochSeed(this.seed, epoch));
      this.cachedEpoch = epoch;
    }
    return this.cachedPerm![pos];
  }

  /** Sequence indices of global step `step`, rank `rank`, micro-step `micro`. */
  microBatchIndices(step: number, rank: number, micro: number): number[] {
    const epoch = Math.floor(step / this.stepsPerEpoch);
    const s = step % this.stepsPerEpoch;
    const perRank = this.globalBatch / this.dpRanks;
    const start = s * this.globalBatch + rank * perRank + micro * this.microBatch;
    const out: number[] = [];
    for (let i = 0; i < this.microBatch; i++) out.push(this.positionToIndex(epoch, start + i));
    return out;
  }

  /** All G sequence indices of a global step, in rank-major, micro-step-minor order. */
  stepIndices(step: number): number[] {
    const out: number[] = [];
    for (let r = 0; r < this.dpRanks; r++)
      for (let k = 0; k < this.accumulation; k++) out.push(...this.microBatchIndices(step, r, k));
    return out;
  }

  /** Total optimizer steps for `epochs` (fractional epochs round down to whole steps). */
  stepsForEpochs(epochs: number): number {
    return Math.max(1, Math.floor(epochs * this.stepsPerEpoch));
  }

  cursor(step: number): DataCursor {
    return {
      step,
      epoch: Math.floor(step / this.stepsPerEpoch),
      stepInEpoch: step % this.stepsPerEpoch,
      sequencesConsumed: step * this.globalBatch,
      numSequences: this.numSequences,
      globalBatch: this.globalBatch,
      order: this.order,
      seed: this.seed,
    };
  }

  /** Problems that make a saved cursor mean different data under this plan (empty = compatible). */
  cursorMismatch(c: DataCursor): string[] {
    const out: string[] = [];
    if (c.numSequences !== this.numSequences)
      out.push(
        `checkpoint was taken over ${c.numSequences} sequences, the data now has ${this.numSequences}`,
      );
    if (c.globalBatch !== this.globalBatch)
      out.push(`checkpoint global_batch ${c.globalBatch} differs from ${this.globalBatch}`);
    if (c.order !== this.order) out.push(`checkpoint data_order ${c.order} differs from ${this.order}`);
    if (c.seed !== this.seed) out.push(`checkpoint seed ${c.seed} differs from ${this.seed}`);
    return out;
  }
}
