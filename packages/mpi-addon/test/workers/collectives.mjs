// One rank under mpirun, using the BUILT package (dist + build/Release): every MpiCommunicator call on
// rank-dependent integer data, results written to <outDir>/r<rank>.json for the test to check against naive loops.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { MpiCommunicator, MpiError, mpiFinalize } from "../../dist/index.js";

const data = (rank, tag, n) =>
  Float32Array.from({ length: n }, (_, i) => (((rank + 1) * 7919 + tag * 104729 + i * 31) % 201) - 100);
const world = MpiCommunicator.world();
const { rank, size } = world;
const out = { rank, size, threadLevel: world.threadLevel };

const sum = data(rank, 1, 1000);
await world.allReduce(sum, "sum");
const max = data(rank, 1, 1000);
await world.allReduce(max, "max");
out.allReduceSum = Array.from(sum);
out.allReduceMax = Array.from(max);
out.reduceScatterSum = Array.from(await world.reduceScatterBlock(data(rank, 2, 5 * size), "sum"));
out.reduceScatterMax = Array.from(await world.reduceScatterBlock(data(rank, 2, 5 * size), "max"));
out.allGather = Array.from(await world.allGather(data(rank, 3, 4)));
const bc = data(rank, 4, 9);
await world.broadcast(bc, size - 1);
out.broadcast = Array.from(bc);
await world.barrier();

const shared = await world.splitShared("intra-node");
const parity = await world.split(rank % 2, "parity");
const p = data(rank, 5, 3);
await parity.allReduce(p, "sum");
out.shared = { rank: shared.rank, size: shared.size };
out.parity = { rank: parity.rank, size: parity.size, sum: Array.from(p) };

try {
  await world.broadcast(new Float32Array(2), size + 3);
  out.error = "none";
} catch (e) {
  out.error = { isMpiError: e instanceof MpiError, call: e.mpiCall, rank: e.rank, message: e.message };
}
await world.barrier(); // still usable after an error
mpiFinalize();
writeFileSync(join(process.argv[2], `r${rank}.json`), JSON.stringify(out));
