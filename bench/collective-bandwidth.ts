// What the collective benches share: nccl-tests-style bus bandwidth of all-reduce, reduce-scatter and
// all-gather on one process group (outputs allocated once, median of `iters` timed calls after a
// warm-up, the slowest rank's time), and a raw TCP sender for the baselines they are compared with.
import type { Socket } from "node:net";
// bench/ is not a workspace dependent of the package, so it loads the built entry by path.
import { type ProcessGroup, TcpProcessGroup } from "../packages/fsdp-sharding/dist/index.js";

export interface BandwidthRow {
  /** Where the data moved, as the group reports it: "single-copy", "shm", "tcp" (or "solo"). */
  path: string;
  op: string;
  ranks: number;
  mb: number;
  medianSeconds: number;
  algGBps: number;
  busGBps: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * Bus bandwidth as nccl-tests: all-reduce algbw·2(n−1)/n, reduce-scatter / all-gather algbw·(n−1)/n,
 * algbw = full buffer bytes / time. Every rank calls it; rank 0 logs a line per measurement.
 */
export async function collectiveBandwidth(
  g: ProcessGroup,
  sizesMb: number[],
  iters: number,
): Promise<BandwidthRow[]> {
  const n = g.size;
  const path = g instanceof TcpProcessGroup ? g.dataPath : "solo";
  const rows: BandwidthRow[] = [];
  for (const mb of sizesMb) {
    const elems = Math.floor((mb * 1024 * 1024) / 4 / n) * n;
    const bytes = elems * 4;
    const buf = new Float32Array(elems).fill(1);
    const chunk = new Float32Array(elems / n).fill(1);
    // Output buffers allocated once, as nccl-tests do (reduce_scatter_tensor / all_gather_into_tensor):
    // a fresh result array per call would time the kernel's page faults, not the collective.
    const rsOut = new Float32Array(elems / n);
    const agOut = new Float32Array(elems);
    const ops: [string, number, () => Promise<unknown>][] = [
      ["allReduce", (2 * (n - 1)) / n, () => g.allReduce(buf)],
      ["reduceScatter", (n - 1) / n, () => g.reduceScatter(buf, "sum", rsOut)],
      ["allGather", (n - 1) / n, () => g.allGather(chunk, agOut)],
    ];
    for (const [op, factor, run] of ops) {
      await run(); // warm-up: JIT, socket buffers
      const times: number[] = [];
      for (let k = 0; k < iters; k++) {
        await g.barrier();
        const t0 = process.hrtime.bigint();
        await run();
        times.push(Number(process.hrtime.bigint() - t0) / 1e9);
      }
      // The slowest rank defines the collective's time.
      const t = new Float32Array([median(times)]);
      await g.allReduce(t, "max");
      const alg = bytes / t[0] / 1e9;
      rows.push({ path, op, ranks: n, mb, medianSeconds: t[0], algGBps: alg, busGBps: alg * factor });
      if (g.rank === 0)
        process.stderr.write(`${path} ${op} n=${n} ${mb} MB: bus ${(alg * factor).toFixed(3)} GB/s\n`);
    }
  }
  return rows;
}

/** Writes `total` bytes to `sock` in 4 MiB blocks as fast as it drains; `then` once all are queued. */
export function sendAll(sock: Socket, total: number, then?: () => void): void {
  const block = Buffer.alloc(4 * 1024 * 1024, 7);
  let sent = 0;
  const pump = () => {
    while (sent < total) {
      const k = Math.min(block.length, total - sent);
      sent += k;
      if (!sock.write(k === block.length ? block : block.subarray(0, k)))
        return void sock.once("drain", pump);
    }
    then?.();
  };
  pump();
}
