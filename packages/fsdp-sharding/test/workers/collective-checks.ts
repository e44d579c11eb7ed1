// The collective part shared by the TCP and MPI rank workers: every collective on data from
// helpers/data.ts, saved under <name>.bin for the test process to compare with naive computations.
import type { ProcessGroup } from "../../src/index.js";
import {
  ALL_GATHER_CHUNKS,
  ALL_REDUCE_SIZES,
  BROADCAST_SIZES,
  intData,
  REDUCE_SCATTER_CHUNKS,
} from "../helpers/data.js";

export async function runCollectiveChecks(
  g: ProcessGroup,
  save: (name: string, a: Float32Array) => void,
): Promise<void> {
  const r = g.rank;
  for (const n of ALL_REDUCE_SIZES)
    for (const op of ["sum", "avg", "max"] as const) {
      const buf = intData(r, `ar-${n}`, n);
      await g.allReduce(buf, op);
      save(`ar-${op}-${n}`, buf);
    }
  for (const k of REDUCE_SCATTER_CHUNKS)
    save(`rs-${k}`, await g.reduceScatter(intData(r, `rs-${k}`, k * g.size)));
  for (const k of ALL_GATHER_CHUNKS) save(`ag-${k}`, await g.allGather(intData(r, `ag-${k}`, k)));
  // Into caller buffers (torch's *_into_tensor): the same results, in the very arrays passed, reused
  // across calls; all-gather's input may be this rank's own slot of the output. Pre-filled with NaN so an
  // element left unwritten shows.
  for (const k of REDUCE_SCATTER_CHUNKS) {
    const out = new Float32Array(k).fill(Number.NaN);
    const got = await g.reduceScatter(intData(r, `rs-${k}`, k * g.size), "sum", out);
    if (got !== out) throw new Error("reduceScatter did not return the out buffer");
    save(`rs-out-${k}`, out);
  }
  for (const k of ALL_GATHER_CHUNKS) {
    const out = new Float32Array(k * g.size).fill(Number.NaN);
    const mine = out.subarray(r * k, (r + 1) * k);
    mine.set(intData(r, `ag-${k}`, k));
    const got = await g.allGather(mine, out);
    if (got !== out) throw new Error("allGather did not return the out buffer");
    save(`ag-out-${k}`, out);
  }
  for (const n of BROADCAST_SIZES)
    for (let root = 0; root < g.size; root++) {
      const buf = intData(r, `bc-${n}`, n);
      await g.broadcast(buf, root);
      save(`bc-${n}-${root}`, buf);
    }
  await g.barrier();
  // A barrier holds everyone until the last rank arrives: rank r arrives r × 60 ms late.
  await new Promise((done) => setTimeout(done, r * 60));
  const arrived = Date.now();
  await g.barrier();
  const left = Date.now();
  save("barrier-times", new Float32Array(new Float64Array([arrived, left]).buffer));
  // Collectives issued without awaiting must still run in call order.
  const a = intData(r, "q1", 11);
  const b = intData(r, "q2", 13);
  await Promise.all([g.allReduce(a), g.allReduce(b)]);
  save("queued-1", a);
  save("queued-2", b);
  for (const kind of ["intra-node", "inter-node"] as const) {
    const sg = g.subgroup(kind);
    const buf = intData(r, kind, 1001);
    await sg.allReduce(buf);
    save(`sub-${kind}`, buf);
    save(`sub-${kind}-members`, Float32Array.from(sg.members));
  }
}
