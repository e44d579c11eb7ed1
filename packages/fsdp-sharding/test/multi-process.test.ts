import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { FlatParamUnit, readShardedStates, ShardedDataParallel, SoloGroup } from "../src/index.js";
import { expectCollectiveResults } from "./helpers/collective-expectations.js";
import { fromParamMap, GLOBAL_BATCH, referenceSgd, STRATEGIES, UNITS } from "./helpers/fsdp-problem.js";
import { describeFailures, type RankResult, spawnWorld } from "./helpers/world.js";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

// [label, ranks per node, nodes, data path]. "shm" worlds are the default (every group of one machine
// moves data through shared memory; the "nodes" here share this machine, so their inter-node groups do
// too); "tcp" worlds switch it off (BIOMED_LLAMA_SHM=0), as between real machines.
const worlds: [string, number, number, "shm" | "tcp"][] = [
  ["1 rank", 1, 1, "shm"],
  ["2 ranks", 2, 1, "shm"],
  ["3 ranks", 3, 1, "shm"],
  ["4 ranks", 4, 1, "shm"],
  ["5 ranks", 5, 1, "shm"],
  ["2 nodes x 2 ranks", 2, 2, "shm"],
  ["2 ranks over TCP", 2, 1, "tcp"],
  ["3 ranks over TCP", 3, 1, "tcp"],
  // 5 ranks: reduce-scatter forwards 3 steps × 4 pieces of its 3001-float segments, more than its pool
  // of FORWARD_BUFFERS (8), so forwarding buffers are reused after their sends completed. Collectives only:
  // the FSDP problem's global batch of 12 does not split over 5 ranks.
  ["5 ranks over TCP", 5, 1, "tcp"],
  ["2 nodes x 2 ranks over TCP", 2, 2, "tcp"],
];

/** A group that never communicates: enough to check how shards are laid out for another world size. */
function layoutGroup(size: number, rank: number) {
  const g = new SoloGroup(rank);
  return Object.assign(Object.create(SoloGroup.prototype), g, {
    size,
    rank,
    members: Array.from({ length: size }, (_, i) => i),
  });
}

// All worlds start at once: most of a world's wall time is process start-up and rendezvous, which overlap.
const runs = new Map<string, { dir: string; results: RankResult[] }>();
beforeAll(async () => {
  await Promise.all(
    worlds.map(async ([label, nproc, nnodes, data]) => {
      const dir = mkdtempSync(join(tmpdir(), "fsdp-world-"));
      dirs.push(dir);
      const fsdp = GLOBAL_BATCH % (nproc * nnodes) === 0 ? ["fsdp"] : [];
      const world = await spawnWorld({
        nproc,
        nnodes,
        worker: "rank-checks.ts",
        args: [dir, ...fsdp],
        env: data === "tcp" ? { BIOMED_LLAMA_SHM: "0" } : {},
      });
      runs.set(label, { dir, results: await world.done });
    }),
  );
}, 120_000);

describe.each(worlds)("%s", (label, nproc, nnodes, data) => {
  const size = nproc * nnodes;
  const ranks = Array.from({ length: size }, (_, r) => r);
  let dir = "";
  let results: RankResult[] = [];
  const load = (r: number, name: string) => {
    const b = readFileSync(join(dir, `r${r}-${name}.bin`));
    return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  };

  beforeAll(() => {
    ({ dir, results } = runs.get(label)!);
  });

  test("every rank exits cleanly", () => {
    expect(describeFailures(results)).toBe("");
  });

  test(`groups of several ranks move data over ${data}`, () => {
    if (size === 1) return;
    for (const r of ranks) {
      const paths = JSON.parse(readFileSync(join(dir, `r${r}-data-paths.json`), "utf8"));
      expect(paths.world, `rank ${r} world`).toBe(data);
      expect(paths["intra-node"], `rank ${r} intra-node`).toBe(nproc > 1 ? data : "solo");
      expect(paths["inter-node"], `rank ${r} inter-node`).toBe(nnodes > 1 ? data : "solo");
    }
  });

  test("collectives match naive sums", () => {
    expectCollectiveResults(ranks, nproc, load);
  });

  if (GLOBAL_BATCH % size !== 0) return; // collectives-only world (see `worlds`)

  test.each(STRATEGIES)("FSDP %s: N ranks give the single-process SGD result", (variant) => {
    const ref = referenceSgd();
    for (const r of ranks) {
      const got = JSON.parse(readFileSync(join(dir, `r${r}-fsdp-${variant}.json`), "utf8"));
      for (let j = 0; j < ref.theta.length; j++) expect(got.theta[j]).toBeCloseTo(ref.theta[j], 5);
      for (let s = 0; s < ref.norms.length; s++) expect(got.norms[s]).toBeCloseTo(ref.norms[s], 5);
    }
  });

  test.each(["full", "hybrid-grad-op"])(
    "FSDP %s checkpoint reloads at world sizes 1 and 3",
    async (variant) => {
      const ref = referenceSgd();
      const states = readShardedStates(join(dir, `ckpt-${variant}`));
      const solo = new ShardedDataParallel({ units: UNITS, strategy: "full", group: new SoloGroup() });
      const extra = solo.loadShardedStateDict(states);
      const theta = fromParamMap(await solo.gatherParameters());
      for (let j = 0; j < ref.theta.length; j++) expect(theta[j]).toBeCloseTo(ref.theta[j], 5);
      const three = new ShardedDataParallel({ units: UNITS, strategy: "grad-op", group: layoutGroup(3, 1) });
      const extra3 = three.loadShardedStateDict(states);
      let off = 0;
      for (const u of UNITS) {
        const unit = new FlatParamUnit(u.name, u.params, 3);
        const flat = new Float32Array(unit.paddedNumel);
        flat.set(Float32Array.from(ref.theta.slice(off, off + unit.numel)));
        off += unit.numel;
        const mine = three.parameterShards().find((p) => p.unit === u.name)!.param;
        const want = unit.chunk(flat, 1);
        for (let i = 0; i < want.length; i++) expect(mine[i]).toBeCloseTo(want[i], 5);
        const m = extra3.get("exp_avg")!.get(u.name)!;
        for (let i = 0; i < want.length; i++) expect(m[i]).toBeCloseTo(2 * want[i], 5);
      }
      expect(extra.get("exp_avg")!.size).toBe(UNITS.length);
    },
  );
});
