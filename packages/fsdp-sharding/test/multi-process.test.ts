import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  FlatParamUnit,
  readShardedStateFile,
  readShardedStateFiles,
  ShardedDataParallel,
  SoloGroup,
  shardedStateFileName,
} from "../src/index.js";
import { expectCollectiveResults } from "./helpers/collective-expectations.js";
import { fromParamMap, GLOBAL_BATCH, referenceSgd, STRATEGIES, UNITS } from "./helpers/fsdp-problem.js";
import { describeFailures, PKG_DIR, type RankResult, spawnWorld } from "./helpers/world.js";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

// [label, ranks per node, nodes, data path]. Ranks of one machine move data through shared memory by
// default — "single-copy" where they may read each other's memory (process_vm_readv), else staged
// ("shm"). Groups that span the launcher's nodes (world and inter-node of a 2-node world) talk over TCP
// although these "nodes" share one machine: the declared layout decides, as between real machines
// (or namespaced hosts sharing /dev/shm). "shm" worlds switch
// single-copy off (BIOMED_LLAMA_SHM_SINGLE_COPY=0), "tcp" worlds shared memory (BIOMED_LLAMA_SHM=0), as
// between real machines.
type DataPath = "single-copy" | "shm" | "tcp";
const DEFAULT_PATH: DataPath = singleCopyAllowed() ? "single-copy" : "shm";
const worlds: [string, number, number, DataPath][] = [
  ["1 rank", 1, 1, DEFAULT_PATH],
  ["2 ranks", 2, 1, DEFAULT_PATH],
  ["3 ranks", 3, 1, DEFAULT_PATH],
  ["4 ranks", 4, 1, DEFAULT_PATH],
  ["5 ranks", 5, 1, DEFAULT_PATH],
  ["2 nodes x 2 ranks", 2, 2, DEFAULT_PATH],
  // Buffers of 40 000 bytes and more single-copy, smaller ones staged: both paths, interleaved.
  ["4 ranks, single-copy from 40 kB", 4, 1, DEFAULT_PATH],
  ["3 ranks staged in shared memory", 3, 1, "shm"],
  ["4 ranks staged in shared memory", 4, 1, "shm"],
  ["2 nodes x 2 ranks staged in shared memory", 2, 2, "shm"],
  ["2 ranks over TCP", 2, 1, "tcp"],
  ["3 ranks over TCP", 3, 1, "tcp"],
  // 5 ranks: reduce-scatter forwards 3 steps × 4 pieces of its 3001-float segments, more than its pool
  // of FORWARD_BUFFERS (8), so forwarding buffers are reused after their sends completed. Collectives only:
  // the FSDP problem's global batch of 12 does not split over 5 ranks.
  ["5 ranks over TCP", 5, 1, "tcp"],
  ["2 nodes x 2 ranks over TCP", 2, 2, "tcp"],
];
const envFor = (label: string, data: DataPath): Record<string, string> =>
  label.includes("from 40 kB") ? { ...PATH_ENV[data], TEST_SINGLE_COPY_MIN_BYTES: "40000" } : PATH_ENV[data];
const PATH_ENV: Record<DataPath, Record<string, string>> = {
  "single-copy": {},
  shm: { BIOMED_LLAMA_SHM_SINGLE_COPY: "0" },
  tcp: { BIOMED_LLAMA_SHM: "0" },
};

/** Whether this machine lets a process read a child's memory (what the single-copy path needs). */
function singleCopyAllowed(): boolean {
  const script = `
    const { addressOf, readRemote } = require("@biomed-llama/shm-addon");
    const child = require("node:child_process").spawn(process.execPath, ["-e",
      "const a = new Float32Array([42]); process.stdout.write(process.pid + ' ' + require('@biomed-llama/shm-addon').addressOf(a)); process.stdin.resume(); process.stdin.on('end', () => process.exit(0))"],
      { stdio: ["pipe", "pipe", "inherit"] });
    child.stdout.once("data", (d) => {
      const [pid, addr] = String(d).split(" ");
      const got = new Float32Array(1);
      try { readRemote(Number(pid), BigInt(addr), got); } catch {}
      process.stdout.write(String(got[0]));
      child.stdin.end();
    });`;
  const r = spawnSync(process.execPath, ["-e", script], { cwd: PKG_DIR, encoding: "utf8" });
  return r.stdout === "42";
}

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
        env: envFor(label, data),
        deadlineMs: Number(process.env.TEST_WORLD_DEADLINE_MS ?? 120_000),
      });
      runs.set(label, { dir, results: await world.done });
    }),
  );
}, 150_000);

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
      expect(paths.world, `rank ${r} world`).toBe(nnodes > 1 ? "tcp" : data);
      expect(paths["intra-node"], `rank ${r} intra-node`).toBe(nproc > 1 ? data : "solo");
      expect(paths["inter-node"], `rank ${r} inter-node`).toBe(nnodes > 1 ? "tcp" : "solo");
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
      // one file per shard rank (the world for `full`, a node for the hybrid strategies), each from the
      // first replica of its shard rank
      const ckpt = join(dir, `ckpt-${variant}`);
      const shardSize = variant === "full" ? size : nproc;
      const files = Array.from({ length: shardSize }, (_, r) => shardedStateFileName(r, shardSize));
      expect(readdirSync(ckpt).sort()).toEqual(files);
      for (const [r, f] of files.entries()) {
        const { state, metadata } = readShardedStateFile(join(ckpt, f));
        expect([state.strategy, state.shardRank, state.shardSize]).toEqual([variant, r, shardSize]);
        expect(metadata).toEqual({ writer: `rank ${r}` }); // node 0 holds every shard rank's first replica
      }
      const states = readShardedStateFiles(files.map((f) => join(ckpt, f)));
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
