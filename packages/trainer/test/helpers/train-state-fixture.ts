import { mkdirSync } from "node:fs";
import {
  type ProcessGroup,
  ShardedDataParallel,
  SoloGroup,
  type UnitSpec,
} from "@biomed-llama/fsdp-sharding";
import type { AdamW, AdamWKeyState } from "@biomed-llama/optimizer";
import type { CheckpointRef } from "../../src/checkpoint-store";
import { type LoopState, saveTrainCheckpoint } from "../../src/train-state";
import { TINY_MODEL, tinyConfig } from "./tiny-run";

// A checkpoint of two ranks written in one process through the trainer's own save path
// (saveTrainCheckpoint): rank 1 saves from inside rank 0's beforeCommit hook, where rank 0's shard file
// is written and the commit has not happened yet. Tiny units, so its rank files can be committed as a
// fixture (test/fixtures/train-state-v1, made by the code before fsdp-sharding owned the file format).

export const FIXTURE_UNITS: UnitSpec[] = [
  { name: "embed", params: [{ name: "embed.weight", shape: [3, 5] }] },
  {
    name: "layers.0",
    params: [
      { name: "layers.0.w", shape: [2, 3] },
      { name: "layers.0.b", shape: [3] },
    ],
  },
  { name: "norm", params: [{ name: "norm.weight", shape: [2] }] },
];

export const FIXTURE_LOOP: LoopState = {
  step: 3,
  optimizerSteps: 3,
  consecutiveNonFinite: 0,
  tokensSeen: 288,
  schedule: { kind: "cosine-with-warmup", peakLr: 0.01, warmupSteps: 2, totalSteps: 6, minLrRatio: 0.1 },
  cursor: {
    step: 3,
    epoch: 0,
    stepInEpoch: 3,
    sequencesConsumed: 12,
    numSequences: 40,
    globalBatch: 4,
    order: "shuffle",
    seed: 5,
  },
  rng: { seed: 5, epoch: 0 },
};

/** Rank `rank` of a world of `size` that never communicates (barriers are no-ops). */
export function layoutGroup(size: number, rank: number): ProcessGroup {
  return Object.assign(Object.create(SoloGroup.prototype), new SoloGroup(rank), {
    size,
    rank,
    members: Array.from({ length: size }, (_, i) => i),
  });
}

/** Deterministic, distinct, exactly representable values: parameters, then both moments. */
function values(n: number, base: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => base + i / 8);
}

/** The shards of `rank` of a `grad-op` world of `size`; the unit "norm" has no optimizer state yet. */
export function fixtureRank(size: number, rank: number): { sdp: ShardedDataParallel; optimizer: AdamW } {
  const sdp = new ShardedDataParallel({
    units: FIXTURE_UNITS,
    strategy: "grad-op",
    group: layoutGroup(size, rank),
  });
  const full = new Map<string, Float32Array>();
  let base = 1;
  for (const u of FIXTURE_UNITS)
    for (const p of u.params) {
      const n = p.shape.reduce((a, b) => a * b, 1);
      full.set(p.name, values(n, base));
      base += 10;
    }
  sdp.initParameters(full);
  const states = new Map<string, AdamWKeyState>();
  for (const s of sdp.parameterShards()) {
    if (s.unit === "norm") continue;
    const n = s.param.length;
    states.set(s.key, {
      step: 3,
      expAvg: values(n, -100 - 10 * rank),
      expAvgSq: values(n, 1000 + 10 * rank),
    });
  }
  const optimizer = { getState: (key: string) => states.get(key) } as unknown as AdamW;
  return { sdp, optimizer };
}

/** Saves the fixture checkpoint of `size` ranks into `runDir` with saveTrainCheckpoint; rank 0's ref. */
export async function saveFixtureCheckpoint(runDir: string, size = 2): Promise<CheckpointRef> {
  const config = tinyConfig({ out: runDir, max_steps: 6, keep_last: 2 });
  const save = (rank: number, beforeCommit?: () => Promise<void>) => {
    const { sdp, optimizer } = fixtureRank(size, rank);
    return saveTrainCheckpoint({
      runDir,
      group: layoutGroup(size, rank),
      sdp,
      optimizer,
      modelConfig: TINY_MODEL,
      hfWeights:
        rank === 0
          ? async (dir) => {
              mkdirSync(dir, { recursive: true });
            }
          : null,
      config,
      kind: "pretrain",
      loop: FIXTURE_LOOP,
      beforeCommit,
    });
  };
  const later = async (rank: number): Promise<void> => {
    if (rank < size) await save(rank, () => later(rank + 1));
  };
  const ref = await save(0, () => later(1));
  if (!ref) throw new Error("rank 0 committed no checkpoint");
  return ref;
}
