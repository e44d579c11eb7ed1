import { OptimizerInputError, OptimizerStateError } from "./errors.js";

/**
 * Step convention (the same as Hugging Face's LambdaLR schedules, where `scheduler.step()` follows
 * `optimizer.step()`): `lr(k)` is the learning rate used by optimizer step k, counted from 0.
 * So with warmup the very first step uses lr 0, and step `warmupSteps` is the first at peak.
 */
export interface LrSchedule {
  lr(step: number): number;
  stateDict(): LrScheduleStateDict;
  loadStateDict(sd: LrScheduleStateDict): void;
}

export interface LrScheduleStateDict {
  kind: "constant" | "cosine-with-warmup" | "linear-with-warmup";
  peakLr: number;
  warmupSteps: number;
  totalSteps: number;
  minLrRatio: number;
}

export interface ConstantLrOptions {
  peakLr: number;
  /** Linear warmup from 0; default 0. */
  warmupSteps?: number;
}

export interface CosineWithWarmupOptions {
  peakLr: number;
  warmupSteps: number;
  totalSteps: number;
  /** Floor of the decay as a fraction of peakLr; 0 = Hugging Face's schedule, BioMed-LLaMA used 0.1. */
  minLrRatio?: number;
}

export type LinearWithWarmupOptions = CosineWithWarmupOptions;

/**
 * Warmup length from either a ratio of the run (0 <= x < 1, rounded up as HF's
 * `TrainingArguments.get_warmup_steps` does) or a step count (an integer >= 1).
 */
export function warmupStepsFrom(ratioOrSteps: number, totalSteps: number): number {
  checkInt("totalSteps", totalSteps, 0);
  if (ratioOrSteps >= 0 && ratioOrSteps < 1) return Math.ceil(totalSteps * ratioOrSteps);
  if (Number.isInteger(ratioOrSteps) && ratioOrSteps >= 1) return ratioOrSteps;
  throw new OptimizerInputError(
    `warmupStepsFrom: warmup must be a ratio in [0, 1) or an integer step count >= 1, got ${ratioOrSteps}`,
  );
}

/** Shared shape of the three schedules: warmup, then a decay factor in [0, 1]. */
abstract class WarmupSchedule implements LrSchedule {
  protected abstract readonly kind: LrScheduleStateDict["kind"];
  protected peakLr: number;
  protected warmupSteps: number;
  protected totalSteps: number;
  protected minLrRatio: number;

  constructor(peakLr: number, warmupSteps: number, totalSteps: number, minLrRatio: number) {
    checkConfig(peakLr, warmupSteps, totalSteps, minLrRatio);
    this.peakLr = peakLr;
    this.warmupSteps = warmupSteps;
    this.totalSteps = totalSteps;
    this.minLrRatio = minLrRatio;
  }

  /** Fraction of peak after warmup; `progress` runs 0 → 1 from the end of warmup to totalSteps. */
  protected abstract decay(progress: number): number;

  lr(step: number): number {
    checkInt("step", step, 0);
    if (step < this.warmupSteps) return this.peakLr * (step / Math.max(1, this.warmupSteps));
    const progress = Math.min(1, (step - this.warmupSteps) / Math.max(1, this.totalSteps - this.warmupSteps));
    const r = this.minLrRatio;
    return this.peakLr * (r + (1 - r) * this.decay(progress));
  }

  stateDict(): LrScheduleStateDict {
    return {
      kind: this.kind,
      peakLr: this.peakLr,
      warmupSteps: this.warmupSteps,
      totalSteps: this.totalSteps,
      minLrRatio: this.minLrRatio,
    };
  }

  /** Restores the saved configuration, so a resumed run follows the schedule it started with. */
  loadStateDict(sd: LrScheduleStateDict): void {
    if (sd === null || typeof sd !== "object" || sd.kind !== this.kind) {
      throw new OptimizerStateError(
        `${this.kind} schedule: cannot load state dict of kind "${(sd as { kind?: unknown } | null)?.kind}"`,
      );
    }
    try {
      checkConfig(sd.peakLr, sd.warmupSteps, sd.totalSteps, sd.minLrRatio);
    } catch (e) {
      throw new OptimizerStateError(`${this.kind} schedule state dict: ${(e as Error).message}`);
    }
    this.peakLr = sd.peakLr;
    this.warmupSteps = sd.warmupSteps;
    this.totalSteps = sd.totalSteps;
    this.minLrRatio = sd.minLrRatio;
  }
}

/** lr(k) = peak · k/W during warmup, then peak. */
export class ConstantLr extends WarmupSchedule {
  protected readonly kind = "constant";
  constructor(opts: ConstantLrOptions) {
    const w = opts.warmupSteps ?? 0;
    super(opts.peakLr, w, w, 0);
  }
  protected decay(): number {
    return 1;
  }
}

/** lr(k) = peak · (r + (1−r) · ½(1 + cos(π·p))) after warmup, p = (k−W)/max(1, T−W) clamped to 1. */
export class CosineWithWarmup extends WarmupSchedule {
  protected readonly kind = "cosine-with-warmup";
  constructor(opts: CosineWithWarmupOptions) {
    super(opts.peakLr, opts.warmupSteps, opts.totalSteps, opts.minLrRatio ?? 0);
  }
  protected decay(progress: number): number {
    return 0.5 * (1 + Math.cos(Math.PI * progress));
  }
}

/** lr(k) = peak · (r + (1−r) · (1 − p)) after warmup, p as for the cosine schedule. */
export class LinearWithWarmup extends WarmupSchedule {
  protected readonly kind = "linear-with-warmup";
  constructor(opts: LinearWithWarmupOptions) {
    super(opts.peakLr, opts.warmupSteps, opts.totalSteps, opts.minLrRatio ?? 0);
  }
  protected decay(progress: number): number {
    return 1 - progress;
  }
}

export function constantLr(opts: ConstantLrOptions): LrSchedule {
  return new ConstantLr(opts);
}

export function cosineWithWarmup(opts: CosineWithWarmupOptions): LrSchedule {
  return new CosineWithWarmup(opts);
}

export function linearWithWarmup(opts: LinearWithWarmupOptions): LrSchedule {
  return new LinearWithWarmup(opts);
}

function checkInt(field: string, x: number, min: number): void {
  if (!Number.isInteger(x) || x < min)
    throw new OptimizerInputError(`${field} must be an integer >= ${min}, got ${x}`);
}

function checkConfig(peakLr: number, warmupSteps: number, totalSteps: number, minLrRatio: number): void {
  if (!Number.isFinite(peakLr) || peakLr < 0)
    throw new OptimizerInputError(`peakLr must be a finite number >= 0, got ${peakLr}`);
  checkInt("warmupSteps", warmupSteps, 0);
  checkInt("totalSteps", totalSteps, 0);
  if (warmupSteps > totalSteps) {
    throw new OptimizerInputError(`warmupSteps (${warmupSteps}) must not exceed totalSteps (${totalSteps})`);
  }
  if (!(minLrRatio >= 0 && minLrRatio <= 1))
    throw new OptimizerInputError(`minLrRatio must be in [0, 1], got ${minLrRatio}`);
}
