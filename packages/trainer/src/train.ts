import { join } from "node:path";
import {
  describeDataPaths,
  initProcessGroup,
  type ProcessGroup,
  ShardedDataParallel,
  type UnitShard,
  type UnitSpec,
} from "@biomed-llama/fsdp-sharding";
import {
  describeBackend,
  type LlamaConfig,
  LlamaForCausalLM,
  loadHFCheckpoint,
  llamaUnits as modelUnits,
  parameterShapes,
  presetConfig,
  readHFConfig,
  saveHFCheckpoint,
  saveHFStateDict,
  setBackend,
  setMatmulPrecision,
  trainingFlopsPerToken,
} from "@biomed-llama/llama-model";
import {
  AdamW,
  clipGradNorm,
  constantLr,
  cosineWithWarmup,
  flatDecayMask,
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
import { type SequenceSource, trimToLastLabel } from "./supervised-sequences.js";
import {
  type CheckpointManifest,
  type LoopState,
  readShardedStates,
  saveTrainCheckpoint,
} from "./train-state.js";
import { UnitShardedModel } from "./unit-sharded-model.js";

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

/** FSDP wrapping as the seed: embeddings, one unit per decoder layer, final norm + head (the model's units). */
export function llamaUnits(config: LlamaConfig): UnitSpec[] {
  const shapes = parameterShapes(config);
  return modelUnits(config).map((u) => ({
    name: u.name,
    params: u.params.map((name) => ({ name, shape: shapes.get(name)! })),
  }));
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

async function toFloat32Grads(grads: Map<string, { data(): Promise<ArrayLike<number>>; dispose(): void }>) {
  const out = new Map<string, Float32Array>();
  for (const [name, g] of grads) {
    out.set(name, (await g.data()) as Float32Array);
    g.dispose();
  }
  return out;
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

  // ── data: which sequences each (step, rank, micro-step) takes ────────────────────────────
  const plan = new BatchPlan({
    numSequences: opts.data.numSequences,
    globalBatch: cfg.global_batch,
    microBatch: cfg.micro_batch,
    dpRanks: group.size,
    order: cfg.data_order,
    seed: cfg.seed,
  });
  const totalSteps = cfg.max_steps ?? plan.stepsForEpochs(cfg.epochs ?? 1);

  // ── checkpoint to resume from (read before the model: it fixes the architecture) ────────
  const resumeFrom = opts.resume ? latestCheckpoint(runDir) : null;
  const saved = resumeFrom ? readShardedStates(resumeFrom.dir) : null;
  if (saved) {
    const problems = plan.cursorMismatch(saved.manifest.loop.cursor);
    if (problems.length) throw new CheckpointError(`${resumeFrom!.dir}: ${problems.join("; ")}`);
  }

  // ── model ────────────────────────────────────────────────────────────────────────────────
  let model: LlamaForCausalLM;
  const recompute = cfg.activation_checkpointing === "layer";
  if (saved) model = new LlamaForCausalLM(saved.manifest.model, { uninitialized: true, recompute });
  else if (cfg.init_from) model = await loadHFCheckpoint(cfg.init_from, { recompute });
  else if (cfg.model)
    model = new LlamaForCausalLM(presetConfig(cfg.model), { seed: cfg.init_seed, recompute });
  else throw new ConfigError("config", ["init_from/model: set one of them (or resume)"]);

  try {
    // ── shard: one flat unit per decoder layer + embed + head ────────────────────────────
    const units = llamaUnits(model.config);
    const sdp = new ShardedDataParallel({ units, strategy: cfg.sharding, group, gradReduction: "sum" });
    // ZeRO-3 (`full`, `hybrid`): after sharding, parameters live only as shards and the model runs
    // unit by unit.
    const sharded = sdp.reshardAfterForward ? new UnitShardedModel(model.config, sdp) : null;
    let extras: Map<string, Map<string, Float32Array>> | null = null;
    if (saved) {
      extras = sdp.loadShardedStateDict(saved.states);
      if (!sharded) model.loadStateDict(await sdp.gatherParameters(), { source: resumeFrom!.dir });
    } else {
      const full = await model.stateDict();
      await sdp.broadcastParameters(full);
      if (!rank0 && !sharded) model.loadStateDict(full);
    }
    if (sharded) model.dispose();

    // ── optimizer on this rank's shards, and the schedule ─────────────────────────────────
    const optimizer = new AdamW({
      lr: cfg.lr,
      betas: cfg.betas,
      eps: cfg.eps,
      weightDecay: cfg.weight_decay,
    });
    const schedule = makeSchedule(cfg, totalSteps);
    const decayMasks = new Map<string, Uint8Array | undefined>();
    for (const u of sdp.units) {
      const { start } = u.chunkRange(sdp.shardRank);
      decayMasks.set(
        u.name,
        cfg.decay === "all" ? undefined : flatDecayMask(u.params, start, u.chunkSize, "matrices"),
      );
    }
    let loop: LoopState = {
      step: 0,
      optimizerSteps: 0,
      consecutiveNonFinite: 0,
      tokensSeen: 0,
      schedule: schedule.stateDict(),
      cursor: plan.cursor(0),
      rng: { seed: cfg.seed, epoch: 0 },
    };
    if (saved && extras) {
      loop = saved.manifest.loop;
      schedule.loadStateDict(loop.schedule);
      if (loop.optimizerSteps > 0)
        for (const s of sdp.parameterShards())
          optimizer.setState(s.key, {
            step: loop.optimizerSteps,
            expAvg: extras.get("exp_avg")!.get(s.unit)!,
            expAvgSq: extras.get("exp_avg_sq")!.get(s.unit)!,
          });
      if (rank0)
        log(
          `resumed from ${resumeFrom!.dir} at step ${loop.step} (saved by ${saved.manifest.worldSize} rank(s), now ${group.size})`,
        );
    }

    const metricsPath = join(runDir, "metrics.jsonl");
    if (rank0) {
      writeFileAtomic(join(runDir, "config.json"), `${JSON.stringify(cfg, null, 2)}\n`);
      // a resumed run continues its log at the checkpoint: rows the killed run logged after it go
      if (saved) {
        const dropped = truncateMetrics(metricsPath, loop.step, log);
        if (dropped > 0) log(`${metricsPath}: dropped ${dropped} rows logged after step ${loop.step}`);
      }
    }
    const metrics = rank0 ? new MetricsWriter(metricsPath, log) : null;
    if (rank0) {
      log(
        `train: ${totalSteps} steps × ${cfg.global_batch} sequences (micro ${cfg.micro_batch} × accum ${plan.accumulation} × ${group.size} rank(s)), backend ${backend}, sharding ${cfg.sharding}${group.size > 1 ? `; ${describeDataPaths(group)}` : ""}`,
      );
    }
    const flopsPerToken = trainingFlopsPerToken(model.config, cfg.seq_len);
    const poison = new Set(opts.poisonSteps ?? []);
    const losses = new Map<number, number>();
    let lastCheckpoint: CheckpointRef | null = null;
    const startStep = loop.step;
    const t0 = Date.now();
    let stepTimeAvg = 0;
    let saveDue = false;
    const lastStep = opts.stopAfterStep !== undefined ? Math.min(opts.stopAfterStep, totalSteps) : totalSteps;

    // ── the loop ───────────────────────────────────────────────────────────────────────────
    for (let step = loop.step; step < lastStep; step++) {
      const ts = Date.now();
      const lr = schedule.lr(step);

      // micro-steps: sum-reduced losses and gradients, accumulated locally
      let lossSum = 0;
      let labelTokens = 0;
      let inputTokens = 0;
      for (let k = 0; k < plan.accumulation; k++) {
        const batch = trimToLastLabel(
          plan.microBatchIndices(step, group.rank, k).map((i) => opts.data.get(i)),
        );
        const inputs = batch.map((s) => s.inputIds);
        const labels = batch.map((s) => s.labels);
        const poisoned = poison.has(step) && rank0 && k === 0;
        let out: { loss: number; tokens: number };
        if (sharded) out = await sharded.lossAndGrads(inputs, labels, poisoned);
        else {
          const r = await model.lossAndGrads(inputs, labels, { reduction: "sum" });
          const grads = await toFloat32Grads(r.grads);
          if (poisoned) grads.values().next().value![0] = Number.NaN;
          sdp.accumulateGradients(grads);
          out = r;
        }
        if (poisoned) out.loss = Number.NaN;
        lossSum += out.loss;
        labelTokens += out.tokens;
        inputTokens += batch.length * batch[0].inputIds.length;
      }

      // token-weighted mean over the GLOBAL batch: reduce sums, then divide by the global count
      const [gLossSum, gTokens, gInput] = await allReduceSums(group, [lossSum, labelTokens, inputTokens]);
      const shards: UnitShard[] = sharded ? sharded.takeGradientShards() : await sdp.reduceGradients();
      const inv = gTokens > 0 ? 1 / gTokens : Number.NaN;
      for (const s of shards) for (let i = 0; i < s.grad.length; i++) s.grad[i] *= inv;
      const loss = gLossSum / gTokens;

      // clip over the shard group (replicas hold the same shards and are not counted twice)
      const normGroup = sdp.shardGroupForNorm();
      const reduceSumOfSquares = async (x: number) => (await allReduceSums(normGroup, [x]))[0];
      const grads = shards.map((s) => s.grad);
      const gradNorm =
        cfg.clip > 0
          ? await clipGradNorm(grads, cfg.clip, { reduceSumOfSquares })
          : Math.sqrt(await reduceSumOfSquares(sumOfSquares(grads)));

      const skipped = !Number.isFinite(loss) || !Number.isFinite(gradNorm);
      if (skipped) {
        loop.consecutiveNonFinite++;
        if (rank0) log(`step ${step + 1}: non-finite loss ${loss} / grad norm ${gradNorm}; update skipped`);
        if (loop.consecutiveNonFinite >= cfg.max_nonfinite_steps)
          throw new NonFiniteLossError(
            `${runDir}: ${loop.consecutiveNonFinite} steps in a row had a non-finite loss or gradient norm (max_nonfinite_steps=${cfg.max_nonfinite_steps}); stopping at step ${step + 1} — lower lr or resume from an earlier checkpoint`,
          );
      } else {
        loop.consecutiveNonFinite = 0;
        optimizer.step(
          shards.map((s) => ({
            key: s.key,
            param: s.param,
            grad: s.grad,
            decayMask: decayMasks.get(s.unit),
          })),
          lr,
        );
        loop.optimizerSteps++;
        // ZeRO-1/2 and DDP: gather the updated shards back into the model's full parameters
        if (!sharded) {
          const full = await sdp.gatherParameters();
          for (const [name, data] of full) model.setParameter(name, data);
        }
      }

      loop.step = step + 1;
      loop.tokensSeen += gInput;
      loop.cursor = plan.cursor(loop.step);
      loop.rng = { seed: cfg.seed, epoch: loop.cursor.epoch };
      loop.schedule = schedule.stateDict();
      losses.set(step + 1, loss);

      const dt = (Date.now() - ts) / 1000;
      stepTimeAvg = step === startStep ? dt : 0.9 * stepTimeAvg + 0.1 * dt;
      const tokPerS = gInput / Math.max(dt, 1e-9);
      const m: StepMetrics = {
        step: step + 1,
        total_steps: totalSteps,
        loss,
        lr,
        grad_norm: gradNorm,
        step_tokens: gTokens,
        tokens_seen: loop.tokensSeen,
        tokens_per_s: tokPerS,
        mfu: ((tokPerS / group.size) * flopsPerToken) / (cfg.peak_tflops * 1e12),
        mem_bytes: process.memoryUsage().rss,
        elapsed_s: (Date.now() - t0) / 1000,
        eta_s: stepTimeAvg * (totalSteps - step - 1),
        skipped,
      };
      if (rank0) {
        metrics!.write(m);
        if ((step + 1) % cfg.log_interval === 0 || step + 1 === totalSteps) log(formatStepLine(m));
        opts.onStep?.(m);
      }

      if (cfg.eval_interval > 0 && opts.evalData && (step + 1) % cfg.eval_interval === 0) {
        const ev = await evaluate(sharded ?? model, opts.evalData, cfg, group);
        if (rank0) {
          metrics!.write({ step: step + 1, eval_loss: ev.loss, eval_tokens: ev.tokens });
          log(`step ${step + 1}: eval_loss ${ev.loss.toFixed(4)} over ${ev.tokens} tokens`);
        }
      }
      const isLast = step + 1 === totalSteps;
      if ((cfg.save_interval > 0 && (step + 1) % cfg.save_interval === 0) || isLast) saveDue = true;
      // A checkpoint is never taken of a non-finite state: a save that falls on a skipped step waits
      // for the next finite one (and keep_last therefore never prunes a good checkpoint for a bad one).
      if (saveDue && skipped && rank0) log(`step ${step + 1}: checkpoint deferred: the step was non-finite`);
      const paramsFinite =
        saveDue && !skipped
          ? Number.isFinite(await reduceSumOfSquares(sumOfSquares(sdp.parameterShards().map((s) => s.param))))
          : true;
      if (!paramsFinite && rank0) log(`step ${step + 1}: checkpoint deferred: the parameters are non-finite`);
      if (saveDue && !skipped && paramsFinite) {
        saveDue = false;
        // rank 0 writes the HF weights; under ZeRO-3 they are gathered unit by unit (every rank takes part)
        let hfWeights: ((dir: string) => Promise<void>) | null = null;
        if (sharded) {
          const full = await sharded.gatherFull(rank0);
          if (full) hfWeights = (dir) => saveHFStateDict(model.config, full, dir);
        } else if (rank0) hfWeights = (dir) => saveHFCheckpoint(model, dir);
        const ref = await saveTrainCheckpoint({
          runDir,
          group,
          sdp,
          optimizer,
          modelConfig: model.config,
          hfWeights,
          config: cfg,
          kind: opts.kind ?? "pretrain",
          loop,
          beforeCommit: opts.beforeCheckpointCommit && (() => opts.beforeCheckpointCommit!(loop.step)),
        });
        hfWeights = null; // under ZeRO-3 it holds the gathered full parameters: let them go now
        if (rank0 && ref) {
          runDirectory?.markCommitted();
          lastCheckpoint = ref;
          log(`step ${step + 1}: checkpoint ${ref.dir}`);
        }
      }
      await opts.afterStep?.(step + 1);
    }
    return {
      runDir,
      backend,
      totalSteps,
      stepsRun: lastStep - startStep,
      losses,
      lastCheckpoint,
      parameters: sharded ? await sdp.gatherParameters() : await model.stateDict(),
    };
  } finally {
    model.dispose();
  }
}

/** Token-weighted held-out loss; rank r takes eval sequences r, r+W, r+2W, ... */
async function evaluate(
  model: LlamaForCausalLM | UnitShardedModel,
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
    const inputs = batch.map((s) => s.inputIds);
    const labels = batch.map((s) => s.labels);
    const r =
      model instanceof UnitShardedModel
        ? await model.loss(inputs, labels)
        : await model.loss(inputs, labels, { reduction: "sum" });
    sum += r.loss;
    tokens += r.tokens;
  }
  const [gSum, gTokens] = await allReduceSums(group, [sum, tokens]);
  return { loss: gSum / gTokens, tokens: gTokens };
}
