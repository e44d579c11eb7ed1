// The rank files of train_state/ are fsdp-sharding's sharded-state files: what saveTrainCheckpoint writes
// reads back through fsdp-sharding's reader into the state it saved, and checkpoints written before
// fsdp-sharding owned the format (test/fixtures/train-state-v1, made by saveTrainCheckpoint when it wrote
// through llama-model's writeSafetensors) still load — and are written again byte for byte.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  readShardedStateFile,
  ShardedDataParallel,
  type ShardedState,
  SoloGroup,
} from "@biomed-llama/fsdp-sharding";
import { openSafetensors } from "@biomed-llama/llama-model";
import { describe, expect, test } from "vitest";
import { readManifest } from "../src/checkpoint-store";
import { CheckpointError } from "../src/errors";
import { type CheckpointManifest, readShardedStates } from "../src/train-state";
import { tmp } from "./helpers/tiny-run";
import {
  FIXTURE_LOOP,
  FIXTURE_UNITS,
  fixtureRank,
  layoutGroup,
  saveFixtureCheckpoint,
} from "./helpers/train-state-fixture";

const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), "fixtures", "train-state-v1");
const RANK_FILES = [
  "train_state/rank-00000-of-00002.safetensors",
  "train_state/rank-00001-of-00002.safetensors",
];

/** What rank `rank` of the fixture world holds: parameters, AdamW moments (zeros where none yet). */
function expectedState(rank: number): ShardedState {
  const { sdp, optimizer } = fixtureRank(2, rank);
  const expAvg = new Map<string, Float32Array>();
  const expAvgSq = new Map<string, Float32Array>();
  for (const s of sdp.parameterShards()) {
    const st = optimizer.getState(s.key);
    expAvg.set(s.unit, st?.expAvg ?? new Float32Array(s.param.length));
    expAvgSq.set(s.unit, st?.expAvgSq ?? new Float32Array(s.param.length));
  }
  return sdp.shardedStateDict({ exp_avg: expAvg, exp_avg_sq: expAvgSq });
}

/** The full parameters of the fixture, by reloading `states` at a world of `size` (rank `rank`). */
function reload(states: ShardedState[], size: number, rank: number) {
  const sdp = new ShardedDataParallel({
    units: FIXTURE_UNITS,
    strategy: "grad-op",
    group: size === 1 ? new SoloGroup() : layoutGroup(size, rank),
  });
  const extra = sdp.loadShardedStateDict(states);
  return { sdp, extra };
}

describe("train_state rank files are fsdp-sharding's sharded-state files", () => {
  test("a rank file saved by saveTrainCheckpoint reads back through fsdp-sharding into the same state", async () => {
    const ref = await saveFixtureCheckpoint(join(tmp("state"), "run"));
    const manifest = readManifest<CheckpointManifest>(ref.dir);
    expect(manifest.rankFiles).toEqual(RANK_FILES);
    expect(readdirSync(join(ref.dir, "train_state")).sort()).toEqual(RANK_FILES.map((f) => f.slice(12)));
    for (const [r, rel] of RANK_FILES.entries()) {
      const want = expectedState(r);
      const { state, metadata } = readShardedStateFile(join(ref.dir, rel));
      expect(state).toEqual(want);
      expect(Object.keys(state.tensors)).toEqual(Object.keys(want.tensors));
      expect(state.tensors["norm::exp_avg"]).toEqual(new Float32Array(1)); // no optimizer state yet
      expect(metadata).toEqual({ loop: JSON.stringify(FIXTURE_LOOP) });
    }
    // the trainer's reader is fsdp-sharding's, in the manifest's order
    expect(readShardedStates(ref.dir).states).toEqual([expectedState(0), expectedState(1)]);
    // still plain safetensors: the model package's generic reader opens them
    const f = openSafetensors(join(ref.dir, RANK_FILES[1]));
    try {
      expect(Object.keys(f.metadata)).toEqual(["sharded_state", "loop"]);
      expect(f.read("layers.0::exp_avg_sq").data).toEqual(expectedState(1).tensors["layers.0::exp_avg_sq"]);
    } finally {
      f.close();
    }
  });

  test("a checkpoint written before fsdp-sharding owned the format loads, and is written again byte for byte", async () => {
    const { manifest, states } = readShardedStates(FIXTURE);
    expect([manifest.worldSize, manifest.strategy, manifest.shardSize]).toEqual([2, "grad-op", 2]);
    expect(manifest.rankFiles).toEqual(RANK_FILES);
    expect(states).toEqual([expectedState(0), expectedState(1)]);
    // it reshards like any other: 2 ranks → 1 and 3
    const one = reload(states, 1, 0);
    const full = await one.sdp.gatherParameters();
    expect(full.get("layers.0.b")).toEqual(Float32Array.from([21, 21.125, 21.25]));
    const three = reload(states, 3, 2);
    const oneMoments = one.extra.get("exp_avg")!;
    for (const u of three.sdp.units) {
      const { start, end } = u.chunkRange(2);
      const want = new Float32Array(u.chunkSize);
      want.set(oneMoments.get(u.name)!.subarray(start, Math.min(end, u.numel)));
      expect(three.extra.get("exp_avg")!.get(u.name), u.name).toEqual(want);
    }
    // today's save path writes the same bytes for the same state
    const ref = await saveFixtureCheckpoint(join(tmp("again"), "run"));
    for (const rel of RANK_FILES)
      expect(readFileSync(join(ref.dir, rel)).equals(readFileSync(join(FIXTURE, rel))), rel).toBe(true);
  });

  test("a rank file that is not a sharded-state file is a CheckpointError naming it", async () => {
    const ref = await saveFixtureCheckpoint(join(tmp("bad"), "run"));
    const file = join(ref.dir, RANK_FILES[1]);
    const bytes = readFileSync(file);
    writeFileSync(file, bytes.subarray(0, bytes.length - 4));
    expect(() => readShardedStates(ref.dir)).toThrow(CheckpointError);
    expect(() => readShardedStates(ref.dir)).toThrow(file);
  });
});
