// One rank under mpirun: every collective of the MPI transport on data from helpers/data.ts, an MPI error
// surfacing as an exception, then FSDP training with every strategy (the same runFsdpChecks the TCP
// worker uses). Results land in <outDir> for the test process to compare with naive computations.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { initProcessGroup } from "../../src/index.js";
import { initMpiProcessGroup, loadMpiAddon } from "../../src/transports/transport-mpi.js";
import { runCollectiveChecks } from "./collective-checks.js";
import { runFsdpChecks } from "./fsdp-checks.js";
import { mpiAddonSpecifier } from "./mpi-addon-spec.js";

const outDir = process.argv[2];
const addon = await loadMpiAddon(mpiAddonSpecifier());
// With BIOMED_LLAMA_TRANSPORT=mpi the public entry point must pick MPI by itself (and find the addon).
const g =
  process.env.BIOMED_LLAMA_TRANSPORT === "mpi"
    ? await initProcessGroup({ timeoutMs: 30_000 })
    : await initMpiProcessGroup({ timeoutMs: 30_000, addon });
const r = g.rank;
const save = (name: string, a: Float32Array) =>
  writeFileSync(join(outDir, `r${r}-${name}.bin`), new Uint8Array(a.buffer, a.byteOffset, a.byteLength));

writeFileSync(
  join(outDir, `r${r}-layout.json`),
  JSON.stringify({
    rank: g.rank,
    size: g.size,
    localRank: g.localRank,
    localSize: g.localSize,
    nodeRank: g.nodeRank,
  }),
);
await runCollectiveChecks(g, save);
// MPI_ERRORS_RETURN: an invalid root reaches MPI (the raw binding does not range-check it) and must come
// back as a JS exception naming the call and the rank, leaving the communicator usable.
const binding = (
  addon as unknown as { loadMpiBinding(): { bcast(c: number, b: Float32Array, r: number): Promise<void> } }
).loadMpiBinding();
let mpiError = "no error";
await binding.bcast(0, new Float32Array(4), g.size + 5).catch((e: Error) => {
  mpiError = e.message;
});
writeFileSync(join(outDir, `r${r}-mpi-error.txt`), mpiError);
await runFsdpChecks(g, outDir);
await g.destroy();
