import { existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import {
  type ProcessGroup,
  readShardedStateFile,
  type ShardedDataParallel,
  type ShardedState,
  ShardingError,
  shardedStateFileName,
  writeShardedStateFile,
} from "@biomed-llama/fsdp-sharding";
import type { LlamaConfig } from "@biomed-llama/llama-model";
import type { AdamW, LrScheduleStateDict } from "@biomed-llama/optimizer";
import type { DataCursor } from "./batch-plan.js";
import {
  type CheckpointRef,
  commitStepDir,
  latestCheckpoint,
  pruneCheckpoints,
  readManifest,
  tempStepDir,
} from "./checkpoint-store.js";
import { blameFlags, RESUMABLE_OVERRIDES, type TrainConfig, validateConfig } from "./config.js";
import { CheckpointError, ConfigError } from "./errors.js";

/** Scalars of the loop that a resume needs besides weights and moments. */
export interface LoopState {
  /** Optimizer steps completed (= index of the next global step). */
  step: number;
  /** AdamW updates actually applied (steps minus skipped non-finite ones); AdamW's bias correction uses it. */
  optimizerSteps: number;
  consecutiveNonFinite: number;
  tokensSeen: number;
  schedule: LrScheduleStateDict;
  cursor: DataCursor;
  /** The loop has no randomness besides the data order, which is a pure function of (seed, epoch). */
  rng: { seed: number; epoch: number };
}

/** manifest.json of a checkpoint directory. */
export interface CheckpointManifest {
  format: "biomed-llama-train/1";
  kind: string;
  step: number;
  worldSize: number;
  strategy: string;
  shardSize: number;
  /** Files of train_state/, one per global rank. */
  rankFiles: string[];
  model: LlamaConfig;
  config: TrainConfig;
  loop: LoopState;
  /** The HF weights sit at the top of the directory (config.json + *.safetensors). */
  hfWeights: ".";
  savedAt: string;
}

/**
 * Saves one checkpoint, collectively (every rank calls it with the same step):
 * rank 0 writes the HF weights into a temp dir, each rank writes its shards (params + AdamW moments
 * per unit chunk) into temp/train_state, rank 0 adds manifest + completion marker and renames the
 * temp dir into place, then prunes to the newest keep_last.
 */
export async function saveTrainCheckpoint(args: {
  runDir: string;
  group: ProcessGroup;
  sdp: ShardedDataParallel;
  optimizer: AdamW;
  modelConfig: LlamaConfig;
  /** Rank 0: writes the HF weights into a directory (null on other ranks). */
  hfWeights: ((dir: string) => Promise<void>) | null;
  config: TrainConfig;
  kind: string;
  loop: LoopState;
  /** Test hook: runs on every rank after its shard file is written, before the commit. */
  beforeCommit?: () => void | Promise<void>;
}): Promise<CheckpointRef | null> {
  const { runDir, group, sdp, optimizer, loop } = args;
  const tmp = tempStepDir(runDir, loop.step);
  if (group.rank === 0) {
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(join(runDir, "checkpoints"), { recursive: true });
    await args.hfWeights!(tmp);
    mkdirSync(join(tmp, "train_state"), { recursive: true });
  }
  await group.barrier();
  const expAvg = new Map<string, Float32Array>();
  const expAvgSq = new Map<string, Float32Array>();
  for (const s of sdp.parameterShards()) {
    const st = optimizer.getState(s.key);
    expAvg.set(s.unit, st ? st.expAvg : new Float32Array(s.param.length));
    expAvgSq.set(s.unit, st ? st.expAvgSq : new Float32Array(s.param.length));
  }
  // live buffers, not copies: they are written before anything changes them
  const state = sdp.shardedStateDict({ exp_avg: expAvg, exp_avg_sq: expAvgSq }, { copy: false });
  const file = join(tmp, "train_state", shardedStateFileName(group.rank, group.size));
  await writeShardedStateFile(file, state, { metadata: { loop: JSON.stringify(loop) } });
  await args.beforeCommit?.();
  await group.barrier();
  let ref: CheckpointRef | null = null;
  if (group.rank === 0) {
    const manifest: CheckpointManifest = {
      format: "biomed-llama-train/1",
      kind: args.kind,
      step: loop.step,
      worldSize: group.size,
      strategy: sdp.strategy,
      shardSize: sdp.shardGroup.size,
      rankFiles: Array.from(
        { length: group.size },
        (_, r) => `train_state/${shardedStateFileName(r, group.size)}`,
      ),
      model: args.modelConfig,
      config: args.config,
      loop,
      hfWeights: ".",
      savedAt: new Date().toISOString(),
    };
    ref = commitStepDir(runDir, loop.step, manifest);
    pruneCheckpoints(runDir, args.config.keep_last);
  }
  await group.barrier();
  return ref;
}

/** Reads every rank's shard file of a checkpoint (whatever world size wrote it). */
export function readShardedStates(ckptDir: string): { manifest: CheckpointManifest; states: ShardedState[] } {
  const manifest = readManifest<CheckpointManifest>(ckptDir);
  if (manifest.format !== "biomed-llama-train/1")
    throw new CheckpointError(`${ckptDir}/manifest.json: unknown format ${JSON.stringify(manifest.format)}`);
  const stateDir = join(ckptDir, "train_state");
  const present = existsSync(stateDir) ? new Set(readdirSync(stateDir)) : new Set<string>();
  const states: ShardedState[] = [];
  for (const rel of manifest.rankFiles) {
    const file = join(ckptDir, rel);
    if (!present.has(rel.slice("train_state/".length)))
      throw new CheckpointError(`${file}: missing (checkpoint of ${manifest.worldSize} ranks is incomplete)`);
    try {
      states.push(readShardedStateFile(file).state);
    } catch (e) {
      // fsdp-sharding's errors already name the file
      throw e instanceof ShardingError ? new CheckpointError(e.message) : e;
    }
  }
  return { manifest, states };
}

/**
 * The config of a run being resumed: the one saved in its newest checkpoint, with `overrides`
 * applied only for keys that do not change what the run computes (RESUMABLE_OVERRIDES). Any other
 * differing override is reported, all at once.
 */
export function resumeConfig(
  runDir: string,
  overrides: Record<string, unknown>,
  flags: Record<string, string> = {},
): TrainConfig {
  const ref = latestCheckpoint(runDir);
  const manifest = readManifest<CheckpointManifest>(ref.dir);
  const saved = manifest.config as unknown as Record<string, unknown>;
  const problems: string[] = [];
  const next: Record<string, unknown> = { ...saved, out: runDir };
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined || k === "out") continue;
    if ((RESUMABLE_OVERRIDES as string[]).includes(k)) next[k] = v;
    else if (JSON.stringify(v) !== JSON.stringify(saved[k]))
      problems.push(`${k}: the run was started with ${JSON.stringify(saved[k])}; a resume cannot change it`);
  }
  const source = `${ref.dir}/manifest.json`;
  try {
    if (problems.length) throw new ConfigError(source, problems);
    return validateConfig(next, { source });
  } catch (e) {
    throw e instanceof ConfigError ? blameFlags(e, source, flags) : e;
  }
}
