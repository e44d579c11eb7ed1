import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  type ProcessGroup,
  ShardedDataParallel,
  shardedStateFileName,
  writeShardedStateFile,
} from "../../src/index.js";
import {
  fromParamMap,
  GLOBAL_BATCH,
  initialTheta,
  LR,
  STEPS,
  STRATEGIES,
  sampleGrad,
  THETA,
  toParamMap,
  UNITS,
} from "../helpers/fsdp-problem.js";

/** Trains the fake model with every strategy on this rank's slice of each global batch. */
export async function runFsdpChecks(g: ProcessGroup, outDir: string): Promise<void> {
  const m = GLOBAL_BATCH / g.size;
  for (const variant of STRATEGIES) {
    const strategy =
      variant === "full-sum" || variant === "full-per-unit"
        ? "full"
        : variant === "grad-op-accum"
          ? "grad-op"
          : variant;
    const perUnit = variant === "full-per-unit";
    const sum = variant === "full-sum";
    const sdp = new ShardedDataParallel({
      units: UNITS,
      strategy,
      group: g,
      gradReduction: sum ? "sum" : "avg",
    });
    sdp.initParameters(toParamMap(initialTheta()));
    const norms: number[] = [];
    for (let s = 0; s < STEPS; s++) {
      // ZeRO-3 style: one unit gathered at a time (the fake model needs them all, so they are collected).
      // Odd steps reuse one buffer (the trainer's way): gathered views are copied before the next
      // gather, gradients are reduced straight into a caller's buffer.
      const reuse = s % 2 === 1;
      let gathered = new Map<string, Float32Array>();
      if (perUnit && reuse)
        for (const u of UNITS)
          for (const [name, view] of await sdp.gatherUnit(u.name, new Map(), { reuse }))
            gathered.set(name, view.slice());
      else if (perUnit) for (const u of UNITS) gathered = await sdp.gatherUnit(u.name, gathered);
      else gathered = await sdp.gatherParameters();
      const theta = fromParamMap(gathered);
      const local = new Float64Array(THETA);
      for (let i = g.rank * m; i < (g.rank + 1) * m; i++) {
        const gi = sampleGrad(s, i, theta);
        if (variant === "grad-op-accum") {
          const one = new Float64Array(THETA);
          for (let j = 0; j < THETA; j++) one[j] = gi[j] / m;
          sdp.accumulateGradients(toParamMap(one));
        } else for (let j = 0; j < THETA; j++) local[j] += sum ? gi[j] : gi[j] / m;
      }
      const shards = [];
      if (variant === "grad-op-accum") shards.push(...(await sdp.reduceGradients()));
      else if (perUnit) {
        // Backward order: last unit first, each reduced with only its own gradients in the map.
        const all = toParamMap(local);
        for (const u of [...UNITS].reverse())
          shards.push(
            await sdp.reduceUnitGradients(u.name, new Map(u.params.map((p) => [p.name, all.get(p.name)!])), {
              reuse,
              out: reuse ? new Float32Array(sdp.units.find((v) => v.name === u.name)!.chunkSize) : undefined,
            }),
          );
      } else shards.push(...(await sdp.reduceGradients(toParamMap(local))));
      const scale = sum ? 1 / GLOBAL_BATCH : 1;
      const sq = new Float32Array(1);
      for (const { grad } of shards) for (let i = 0; i < grad.length; i++) sq[0] += (grad[i] * scale) ** 2;
      await sdp.shardGroupForNorm().allReduce(sq, "sum");
      norms.push(Math.sqrt(sq[0]));
      for (const { param, grad } of shards)
        for (let i = 0; i < param.length; i++) param[i] -= LR * grad[i] * scale;
    }
    const final = fromParamMap(await sdp.gatherParameters());
    writeFileSync(
      join(outDir, `r${g.rank}-fsdp-${variant}.json`),
      JSON.stringify({ theta: Array.from(final), norms }),
    );
    if (variant === "hybrid-grad-op" || variant === "full") {
      const dir = join(outDir, `ckpt-${variant}`);
      const state = sdp.shardedStateDict({
        exp_avg: new Map(sdp.parameterShards().map((p) => [p.unit, p.param.map((x) => 2 * x)])),
      });
      // one file per shard rank, from the first replica of each (the trainer writes one per global rank)
      mkdirSync(dir, { recursive: true });
      if (sdp.isReplicaLeader)
        await writeShardedStateFile(
          join(dir, shardedStateFileName(sdp.shardRank, sdp.shardGroup.size)),
          state,
          {
            metadata: { writer: `rank ${g.rank}` },
          },
        );
      await g.barrier();
    }
  }
}
