// One rank of the multi-process checks: every collective on data from helpers/data.ts, then FSDP training
// with every strategy; results land in <outDir> for the test process to compare with naive computations.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { initProcessGroup, TcpProcessGroup } from "../../src/index.js";
import { TEST_PIECE_ELEMS, TEST_SHM_REGION_ELEMS } from "../helpers/data.js";
import { runCollectiveChecks } from "./collective-checks.js";
import { runFsdpChecks } from "./fsdp-checks.js";
import { setPhase } from "./whereabouts.js";

const outDir = process.argv[2];
setPhase("initProcessGroup");
const g = await initProcessGroup({
  timeoutMs: 20_000,
  pieceElems: TEST_PIECE_ELEMS,
  sharedMemoryRegionElems: TEST_SHM_REGION_ELEMS,
  // The test buffers are small: single-copy for all of them unless a world sets a threshold (then the
  // two shared-memory paths interleave within one group).
  singleCopyMinBytes: Number(process.env.TEST_SINGLE_COPY_MIN_BYTES ?? 0),
});
const r = g.rank;
// Which path each group's data took ("solo" for a group of one), for the test to check.
const path = (x: unknown) => (x instanceof TcpProcessGroup ? x.dataPath : "solo");
writeFileSync(
  join(outDir, `r${r}-data-paths.json`),
  JSON.stringify({
    world: path(g),
    "intra-node": path(g.subgroup("intra-node")),
    "inter-node": path(g.subgroup("inter-node")),
  }),
);
const save = (name: string, a: Float32Array) =>
  writeFileSync(join(outDir, `r${r}-${name}.bin`), new Uint8Array(a.buffer, a.byteOffset, a.byteLength));

setPhase("collective checks");
await runCollectiveChecks(g, save);
setPhase("FSDP checks");
if (process.argv[3] === "fsdp") await runFsdpChecks(g, outDir);
setPhase("destroy");
await g.destroy();
setPhase("exiting");
