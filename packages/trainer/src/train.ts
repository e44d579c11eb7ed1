import { join } from "node:path";
import {
  describeDataPaths,
  initProcessGroup,
  type ProcessGroup,
  type ShardedDataParallel,
  type UnitShard,
} from "@biomed-llama/fsdp-sharding";
import {
  describeBackend,
  type LlamaConfig,
  presetConfig,
  readHFConfig,
  setBackend,
  setMatmulPrecision,
  trainingFlopsPerToken,
} from "@biomed-llama/llama-model";
import {
  AdamW,
  clipGradNorm,
  constantLr,
  cosineWithWarmup,
  flatDecayRanges,
  type LrSchedule,
  linearWithWarmup,
  sumOfSquares,
  warmupStepsFrom,
} from "@biomed-llama/optimizer";
import { writeFileAtomic } from "@biomed-llama/safe-files";
import { BatchPlan } from "./batch-plan.js";
import { type CheckpointRef, latestCheckpoint, readManifest } from "./checkpoint-store.js";
import { blameFlags, type TrainConfig } from "./config.js";
import { CheckpointError, ConfigError, DataFormatError, NonFiniteLossError } from "./errors.js";
import { formatStepLine, MetricsWriter, type StepMetrics, truncateMetrics } from "./metrics-log.js";
import { RunDirectory } from "./run-dir.js";
import { type ShardedModel, shardModel } from "./sharded-model.js";
import { type SequenceSource, trimToLastLabel } from "./supervised-sequences.js";
import {
  type CheckpointManifest,
  type LoopState,
  readShardedStates,
  saveTrainCheckpoint,
} from "./train-state.js";

export interface TrainOptions {
  /** A validated config (validateConfig / loadConfig); `out` must be set. */
  config: TrainConfig;
  /** Training sequences; index i is what BatchPlan maps to (step, rank, micro-step). */
  data: SequenceSource;
  /** Held-out sequences for eval_interval. */
  evalData?: SequenceSource | null;
  /** Continue from the newest complete checkpoint under config.out (weights, moments, step, data cursor). */
  resume?: boolean;
  /** A fresh run may replace a non-empty config.out (the user passed --overwrite). */
  overwrite?: boolean;
  /** Config keys set by command-line flags, with the flag: their problems name the flag. */
  flags?: Record<string, string>;
  /** Default: initProcessGroup() from the launcher's environment (a group of one without one). */
  group?: ProcessGroup;
  /** Recorded in the manifest: "pretrain" | "finetune:medqa" | "instruct" ... */
  kind?: string;
  /** Rank 0's log lines; default stderr. */
  log?: (line: string) => void;
  /** Every step's metrics on rank 0 (a CLI draws progress from it). */
  onStep?: (m: StepMetrics) => void;
  /** Fault injection for tests: global steps whose loss and gradient are made NaN on rank 0. */
  poisonSteps?: readonly number[];
  /** Test hook: stop (as if killed) after this many completed steps, without a final checkpoint. */
  stopAfterStep?: number;
  /** Test hook: runs on every rank once its shard file of a checkpoint is written, before the commit
   * (throwing here is a crash in the middle of a save). */
  beforeCheckpointCommit?: (step: number) => void | Promise<void>;
  /** Runs on every rank at the end of each step (after the update and any save), e.g. to sample memory. */
  afterStep?: (step: number) => void | Promise<void>;
}

export interface TrainResult {
  runDir: string;
  backend: string;
  totalSteps: number;
  /** Steps run by this call (from the resume point to the end). */
  stepsRun: number;
  /** Loss of every step run by this call, by global step (NaN for skipped ones). */
  losses: Map<number, number>;
  lastCheckpoint: CheckpointRef | null;
  /** Final full parameters (identical on every rank). */
  parameters: Map<string, Float32Array>;
}

export function makeSchedule(cfg: TrainConfig, totalSteps: number): LrSchedule {
  const warmupSteps = warmupStepsFrom(cfg.warmup_steps ?? cfg.warmup_ratio ?? 0, totalSteps);
  const o = { peakLr: cfg.lr, warmupSteps, totalSteps, minLrRatio: cfg.min_lr_ratio };
  if (cfg.schedule === "cosine") return cosineWithWarmup(o);
  if (cfg.schedule === "linear") return linearWithWarmup(o);
  return constantLr({ peakLr: cfg.lr, warmupSteps });
}

/**
 * The architecture a run trains, known before any weight is read: the resumed checkpoint's, the
 * `init_from` checkpoint's config.json, or the preset's. `source` names where it came from.
 */
export function runModelConfig(cfg: TrainConfig, resume: boolean): { config: LlamaConfig; source: string } {
  if (resume) {
    const ref = latestCheckpoint(cfg.out as string);
    return { config: readManifest<CheckpointManifest>(ref.dir).model, source: ref.dir };
  }
  if (cfg.init_from) return { config: readHFConfig(cfg.init_from), source: cfg.init_from };
  if (cfg.model) return { config: presetConfig(cfg.model), source: `preset ${cfg.model}` };
  throw new ConfigError("config", ["init_from/model: set one of them (or resume)"]);
}

type ModelOfRun = ReturnType<typeof runModelConfig>;

/** Checked on every rank before any work: the sequence fits the model's positions. */
function checkPositions(
  model: ModelOfRun,
  cfg: TrainConfig,
  flags: Record<string, string> | undefined,
): void {
  const { config, source } = model;
  if (cfg.seq_len > config.max_position_embeddings)
    throw blameFlags(
      new ConfigError("config", [
        `seq_len: ${cfg.seq_len} exceeds the model's max_position_embeddings ${config.max_position_embeddings} (${source})`,
      ]),
      "config",
      flags,
    );
}

/**
 * Checked once per job, by rank 0, before any work: every token id of the data (each source that
 * can tell its range) is in the model's vocabulary. A scan of a large dataset reports itself.
 */
function checkTokenIds(
  model: ModelOfRun,
  sources: (SequenceSource | null | undefined)[],
  log: (line: string) => void,
): void {
  const { config, source } = model;
  for (const src of sources) {
    if (!src?.tokenRange) continue;
    const name = src.name ?? "data";
    // a scan of a large dataset reports itself every 5 s from its start
    let said = 0;
    const range = src.tokenRange((done, total) => {
      if (total < 256 << 20 || Date.now() - said < 5000) return;
      if (said === 0)
        log(`${name}: checking the token ids of ${(total / 2 ** 30).toFixed(2)} GiB against the vocabulary`);
      else log(`${name}: ${((100 * done) / total).toFixed(0)}% of the token ids checked`);
      said = Date.now();
    });
    const bad = range.min < 0 ? range.min : range.max >= config.vocab_size ? range.max : null;
    if (bad !== null)
      throw new DataFormatError(
        `${name}: token id ${bad} is outside the vocabulary of ${source} (vocab_size ${config.vocab_size})`,
      );
  }
}

/** Sums doubles across ranks through float32 collectives without losing them to float32 rounding. */
async function allReduceSums(group: ProcessGroup, values: number[]): Promise<number[]> {
  const buf = new Float32Array(values.length * 2);
  values.forEach((v, i) => {
    buf[2 * i] = v;
    buf[2 * i + 1] = v - Math.fround(v);
  });
  await group.allReduce(buf, "sum");
  return values.map((_, i) => buf[2 * i] + buf[2 * i + 1]);
}

/**
 * One training run, torchtitan style: process group → data → model → shard → optimizer + schedule
 * → maybe resume → loop. Every rank calls it; rank 0 logs and writes metrics.jsonl.
 */
export async function train(opts: TrainOptions): Promise<TrainResult> {
  const cfg = opts.config;
  if (!cfg.out) throw new ConfigError("config", ["out: required"]);
  const runDir = cfg.out;
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  if (cfg.eval_interval > 0 && !opts.evalData)
    throw new ConfigError("config", ["eval_interval: needs held-out data (eval_data)"]);
  // ── everything that can be checked before any work ──────────────────────────────────────
  const modelOfRun = runModelConfig(cfg, opts.resume === true);
  checkPositions(modelOfRun, cfg, opts.flags);

  // ── process group; rank 0 takes the run directory (one writer per run) ──────────────────
  const group = opts.group ?? (await initProcessGroup());
  const rank0 = group.rank === 0;
  let runDirectory: RunDirectory | null = null;
  let openError: unknown = null;
  if (rank0)
    try {
      // the data is the same on every rank: one scan for the job
      checkTokenIds(modelOfRun, [opts.data, opts.evalData], log);
      runDirectory = RunDirectory.open(runDir, {
        resume: opts.resume === true,
        overwrite: opts.overwrite,
        command: opts.kind ?? "pretrain",
        log,
      });
    } catch (e) {
      openError = e;
    }
  // every rank learns whether rank 0 accepted the data and holds the directory, so a refused job
  // stops everywhere at once
  const [refused] = await allReduceSums(group, [openError ? 1 : 0]);
  if (refused > 0) {
    if (!opts.group) await group.destroy();
    throw openError ?? new CheckpointError(`${runDir}: rank 0 refused the run (see its error)`);
  }
  let failed = true;
  try {
    const r = await trainInDirectory(opts, group, runDirectory, log);
    failed = false;
    return r;
  } finally {
    runDirectory?.close(failed);
    if (!opts.group) await group.destroy();
  }
}

/** Everything a run's loop works with, set up by `trainInDirectory`. */
interface Run {
  opts: TrainOptions;
  cfg: TrainConfig;
  group: ProcessGroup;
  rank0: boolean;
  log: (line: string) => void;
  runDirectory: RunDirectory | null;
  plan: BatchPlan;
  totalSteps: number;
  model: ShardedModel;
  sdp: ShardedDataParallel;
  optimizer: AdamW;
  schedule: LrSchedule;
  decayRanges: Map<string, [number, number][] | undefined>;
  metrics: MetricsWriter | null;
  reduceSumOfSquares: (x: number) => Promise<number>;
}

async function trainInDirectory(
  opts: TrainOptions,
  group: ProcessGroup,
  runDirectory: RunDirectory | null,
  log: (line: string) => void,
): Promise<TrainResult> {
  const cfg = opts.config;
  const runDir = cfg.out as string;
  const rank0 = group.rank === 0;
  await setBackend(cfg.backend);
  setMatmulPrecision(cfg.matmul_precision);
  const backend = await describeBackend();
  const plan = new BatchPlan({
    numSequences: opts.data.numSequences,
    globalBatch: cfg.global_batch,
    microBatch: cfg.micro_batch,
    dpRanks: group.size,
    order: cfg.data_order,
    seed: cfg.seed,
  });
  const totalSteps = cfg.max_steps ?? plan.stepsForEpochs(cfg.epochs ?? 1);
  const resume = opts.resume ? readResumePoint(runDir, plan) : null;
  const { model, sdp, extras } = await shardModel(cfg, group, resume, rank0 ? log : undefined);
  try {
    const optimizer = new AdamW({
      lr: cfg.lr,
      betas: cfg.betas,
      eps: cfg.eps,
      weightDecay: cfg.weight_decay,
    });
    const schedule = makeSchedule(cfg, totalSteps);
    let loop = freshLoop(cfg, plan, schedule);
    if (resume) {
      loop = resume.manifest.loop;
      schedule.loadStateDict(loop.schedule);
      restoreMoments(optimizer, sdp, loop, extras);
      if (rank0)
        log(
          `resumed from ${resume.dir} at step ${loop.step} (saved by ${resume.manifest.worldSize} rank(s), now ${group.size})`,
        );
    }
    const metrics = rank0 ? openMetrics(runDir, cfg, resume ? loop.step : null, log) : null;
    if (rank0)
      log(
        `train: ${totalSteps} steps × ${cfg.global_batch} sequences (micro ${cfg.micro_batch} × accum ${plan.accumulation} × ${group.size} rank(s)), backend ${backend}, sharding ${cfg.sharding}${group.size > 1 ? `; ${describeDataPaths(group)}` : ""}`,
      );
    const normGroup = sdp.shardGroupForNorm();
    const run: Run = {
      ...{
        opts,
        cfg,
        group,
        rank0,
        log,
        runDirectory,
        plan,
        totalSteps,
        model,
        sdp,
        optimizer,
        schedule,
        metrics,
      },
      decayRanges: unitDecayRanges(sdp, cfg),
      reduceSumOfSquares: async (x) => (await allReduceSums(normGroup, [x]))[0],
    };
    const done = await trainLoop(run, loop);
    return { runDir, backend, totalSteps, ...done, parameters: await model.fullParameters() };
  } finally {
    model.dispose();
  }
}

/**
 * The training loop, as the seed's script: data → forward/backward → clip → optimizer step → log →
 * eval → save. The strategy stays behind `ShardedModel`.
 */
async function trainLoop(run: Run, start: LoopState) {
  const { opts, cfg, group, rank0, log, plan, totalSteps, model, schedule } = run;
  const flopsPerToken = trainingFlopsPerToken(model.config, cfg.seq_len);
  const poison = new Set(opts.poisonSteps ?? []);
  const losses = new Map<number, number>();
  let loop = start;
  let lastCheckpoint: CheckpointRef | null = null;
  const t0 = Date.now();
  let stepTimeAvg = 0;
  let saveDue = false;
  const lastStep = opts.stopAfterStep !== undefined ? Math.min(opts.stopAfterStep, totalSteps) : totalSteps;

  for (let step = loop.step; step < lastStep; step++) {
    const ts = Date.now();
    const lr = schedule.lr(step);
    const local = await microSteps(model, plan, opts.data, step, group.rank, poison.has(step) && rank0);
    // token-weighted mean over the GLOBAL batch: reduce sums, then divide by the global count
    const [gLossSum, gTokens, gInput] = await allReduceSums(group, local);
    const shards = await model.takeGradientShards();
    const loss = gLossSum / gTokens;
    const gradNorm = await scaleAndClip(shards, gTokens, cfg.clip, run.reduceSumOfSquares);
    const skipped = !Number.isFinite(loss) || !Number.isFinite(gradNorm);
    if (skipped) {
      loop.consecutiveNonFinite++;
      if (rank0) log(`step ${step + 1}: non-finite loss ${loss} / grad norm ${gradNorm}; update skipped`);
      if (loop.consecutiveNonFinite >= cfg.max_nonfinite_steps)
        throw new NonFiniteLossError(
          `${cfg.out}: ${loop.consecutiveNonFinite} steps in a row had a non-finite loss or gradient norm (max_nonfinite_steps=${cfg.max_nonfinite_steps}); stopping at step ${step + 1} — lower lr or resume from an earlier checkpoint`,
        );
    } else {
      loop.consecutiveNonFinite = 0;
      const params = shards.map((s) => ({ ...s, decayRanges: run.decayRanges.get(s.unit) }));
      run.optimizer.step(params, lr);
      loop.optimizerSteps++;
      await model.parametersUpdated();
    }
    loop = advanceLoop(loop, plan, schedule, cfg, step + 1, gInput);
    losses.set(step + 1, loss);

    const dt = (Date.now() - ts) / 1000;
    stepTimeAvg = step === start.step ? dt : 0.9 * stepTimeAvg + 0.1 * dt;
    const tokPerS = gInput / Math.max(dt, 1e-9);
    const m: StepMetrics = {
      ...{ step: step + 1, total_steps: totalSteps, loss, lr, grad_norm: gradNorm, step_tokens: gTokens },
      ...{ tokens_seen: loop.tokensSeen, tokens_per_s: tokPerS, skipped },
      mfu: ((tokPerS / group.size) * flopsPerToken) / (cfg.peak_tflops * 1e12),
      mem_bytes: process.memoryUsage().rss,
      elapsed_s: (Date.now() - t0) / 1000,
      eta_s: stepTimeAvg * (totalSteps - step - 1),
    };
    if (rank0) {
      run.metrics!.write(m);
      if ((step + 1) % cfg.log_interval === 0 || step + 1 === totalSteps) log(formatStepLine(m));
      opts.onStep?.(m);
    }
    if (cfg.eval_interval > 0 && opts.evalData && (step + 1) % cfg.eval_interval === 0) {
      const ev = await evaluate(model, opts.evalData, cfg, group);
      if (rank0) {
        run.metrics!.write({ step: step + 1, eval_loss: ev.loss, eval_tokens: ev.tokens });
        log(`step ${step + 1}: eval_loss ${ev.loss.toFixed(4)} over ${ev.tokens} tokens`);
      }
    }
    if ((cfg.save_interval > 0 && (step + 1) % cfg.save_interval === 0) || step + 1 === totalSteps)
      saveDue = true;
    if (saveDue) {
      const ref = await checkpointUnlessNonFinite(run, loop, skipped);
      if (ref !== "deferred") saveDue = false;
      if (ref && ref !== "deferred") lastCheckpoint = ref;
    }
    await opts.afterStep?.(step + 1);
  }
  return { stepsRun: lastStep - start.step, losses, lastCheckpoint };
}

/**
 * Saves a checkpoint of the state after `loop.step` steps, unless that state is non-finite: a save
 * that falls on a skipped step, or finds non-finite parameters, waits for the next finite step (so
 * keep_last never prunes a good checkpoint for a bad one). Every rank calls it.
 */
async function checkpointUnlessNonFinite(
  run: Run,
  loop: LoopState,
  skipped: boolean,
): Promise<CheckpointRef | null | "deferred"> {
  const { opts, cfg, group, rank0, log, model, sdp } = run;
  const params = sdp.parameterShards().map((s) => s.param);
  const deferred = skipped
    ? "the step was non-finite"
    : !Number.isFinite(await run.reduceSumOfSquares(sumOfSquares(params)))
      ? "the parameters are non-finite"
      : null;
  if (deferred) {
    if (rank0) log(`step ${loop.step}: checkpoint deferred: ${deferred}`);
    return "deferred";
  }
  const ref = await saveTrainCheckpoint({
    ...{ runDir: cfg.out as string, group, sdp, optimizer: run.optimizer, loop, config: cfg },
    modelConfig: model.config,
    hfWeights: await model.hfWeights(rank0),
    kind: opts.kind ?? "pretrain",
    beforeCommit: opts.beforeCheckpointCommit && (() => opts.beforeCheckpointCommit!(loop.step)),
  });
  if (rank0 && ref) {
    run.runDirectory?.markCommitted();
    log(`step ${loop.step}: checkpoint ${ref.dir}`);
  }
  return ref;
}

/**
 * One step's micro-batches through the model (gradients accumulate in it): the summed loss, label
 * tokens and input tokens of this rank. `poison` makes the first micro-batch's loss and gradient NaN.
 */
async function microSteps(
  model: ShardedModel,
  plan: BatchPlan,
  data: SequenceSource,
  step: number,
  rank: number,
  poison: boolean,
): Promise<number[]> {
  let lossSum = 0;
  let labelTokens = 0;
  let inputTokens = 0;
  for (let k = 0; k < plan.accumulation; k++) {
    const batch = trimToLastLabel(plan.microBatchIndices(step, rank, k).map((i) => data.get(i)));
    const poisoned = poison && k === 0;
    const inputs = batch.map((s) => s.inputIds);
    const out = await model.lossAndGrads(
      inputs,
      batch.map((s) => s.labels),
      poisoned,
    );
    lossSum += poisoned ? Number.NaN : out.loss;
    labelTokens += out.tokens;
    inputTokens += batch.length * batch[0].inputIds.length;
  }
  return [lossSum, labelTokens, inputTokens];
}

/** The checkpoint `--resume` continues from, checked against this run's batch plan. */
function readResumePoint(runDir: string, plan: BatchPlan) {
  const ref = latestCheckpoint(runDir);
  const { manifest, states } = readShardedStates(ref.dir);
  const problems = plan.cursorMismatch(manifest.loop.cursor);
  if (problems.length) throw new CheckpointError(`${ref.dir}: ${problems.join("; ")}`);
  return { dir: ref.dir, manifest, states, modelConfig: manifest.model };
}

function freshLoop(cfg: TrainConfig, plan: BatchPlan, schedule: LrSchedule): LoopState {
  return {
    step: 0,
    optimizerSteps: 0,
    consecutiveNonFinite: 0,
    tokensSeen: 0,
    schedule: schedule.stateDict(),
    cursor: plan.cursor(0),
    rng: { seed: cfg.seed, epoch: 0 },
  };
}

/** The loop state once `step` steps are done. */
function advanceLoop(
  loop: LoopState,
  plan: BatchPlan,
  schedule: LrSchedule,
  cfg: TrainConfig,
  step: number,
  inputTokens: number,
): LoopState {
  const cursor = plan.cursor(step);
  return {
    ...loop,
    step,
    tokensSeen: loop.tokensSeen + inputTokens,
    cursor,
    rng: { seed: cfg.seed, epoch: cursor.epoch },
    schedule: schedule.stateDict(),
  };
}

/** Weight decay per flat unit shard: matrices only (the seed's AdamW), or every parameter. */
function unitDecayRanges(
  sdp: ShardedDataParallel,
  cfg: TrainConfig,
): Map<string, [number, number][] | undefined> {
  const ranges = new Map<string, [number, number][] | undefined>();
  for (const u of sdp.units) {
    const { start } = u.chunkRange(sdp.shardRank);
    ranges.set(
      u.name,
      cfg.decay === "all" ? undefined : flatDecayRanges(u.params, start, u.chunkSize, "matrices"),
    );
  }
  return ranges;
}

/** AdamW moments of a resumed run, saved beside the parameter shards. */
function restoreMoments(
  optimizer: AdamW,
  sdp: ShardedDataParallel,
  loop: LoopState,
  extras: Map<string, Map<string, Float32Array>> | null,
): void {
  if (!extras || loop.optimizerSteps === 0) return;
  for (const s of sdp.parameterShards())
    optimizer.setState(s.key, {
      step: loop.optimizerSteps,
      expAvg: extras.get("exp_avg")!.get(s.unit)!,
      expAvgSq: extras.get("exp_avg_sq")!.get(s.unit)!,
    });
}

/**
 * Divides the summed gradients by the global label-token count and clips them over the shard group
 * (replicas hold the same shards and are not counted twice); returns the norm before clipping.
 */
async function scaleAndClip(
  shards: UnitShard[],
  tokens: number,
  clip: number,
  reduceSumOfSquares: (x: number) => Promise<number>,
): Promise<number> {
  const inv = tokens > 0 ? 1 / tokens : Number.NaN;
  for (const s of shards) for (let i = 0; i < s.grad.length; i++) s.grad[i] *= inv;
  const grads = shards.map((s) => s.grad);
  return clip > 0
    ? clipGradNorm(grads, clip, { reduceSumOfSquares })
    : Math.sqrt(await reduceSumOfSquares(sumOfSquares(grads)));
}

/** metrics.jsonl of rank 0; a resumed run continues its log at the checkpoint's step. */
function openMetrics(
  runDir: string,
  cfg: TrainConfig,
  resumedAt: number | null,
  log: (line: string) => void,
) {
  const metricsPath = join(runDir, "metrics.jsonl");
  writeFileAtomic(join(runDir, "config.json"), `${JSON.stringify(cfg, null, 2)}\n`);
  if (resumedAt !== null) {
    const dropped = truncateMetrics(metricsPath, resumedAt, log);
    if (dropped > 0) log(`${metricsPath}: dropped ${dropped} rows logged after step ${resumedAt}`);
  }
  return new MetricsWriter(metricsPath, log);
}

/** Token-weighted held-out loss; rank r takes eval sequences r, r+W, r+2W, ... */
async function evaluate(
  model: ShardedModel,
  data: SequenceSource,
  cfg: TrainConfig,
  group: ProcessGroup,
): Promise<{ loss: number; tokens: number }> {
  const n = Math.min(cfg.eval_sequences, data.numSequences);
  const mine: number[] = [];
  for (let i = group.rank; i < n; i += group.size) mine.push(i);
  let sum = 0;
  let tokens = 0;
  for (let k = 0; k < mine.length; k += cfg.micro_batch) {
    const batch = trimToLastLabel(mine.slice(k, k + cfg.micro_batch).map((i) => data.get(i)));
    const r = await model.loss(
      batch.map((s) => s.inputIds),
      batch.map((s) => s.labels),
    );
    sum += r.loss;
    tokens += r.tokens;
  }
  const [gSum, gTokens] = await allReduceSums(group, [sum, tokens]);
  return { loss: gSum / gTokens, tokens: gTokens };
}
