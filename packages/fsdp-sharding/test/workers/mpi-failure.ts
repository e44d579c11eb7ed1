// A rank for the MPI failure tests. `kill`: rank 1 SIGKILLs itself mid-training; `stall`: rank 1 stops
// issuing collectives, so rank 0's all-reduce times out and aborts the job. Either way mpirun must fail.
import { initMpiProcessGroup, loadMpiAddon } from "../../src/transports/transport-mpi.js";
import { mpiAddonSpecifier } from "./mpi-addon-spec.js";

const mode = process.argv[2];
const g = await initMpiProcessGroup({
  timeoutMs: Number(process.argv[3] ?? 20_000),
  addon: await loadMpiAddon(mpiAddonSpecifier()),
});
const buf = new Float32Array(100_000);
for (let i = 0; ; i++) {
  if (g.rank === 1 && i === 3) {
    if (mode === "kill") process.kill(process.pid, "SIGKILL");
    if (mode === "stall") await new Promise((r) => setTimeout(r, 120_000));
  }
  buf.fill(1);
  await g.allReduce(buf);
  if (buf[0] !== g.size) throw new Error(`wrong sum ${buf[0]}`);
}
