// One rank of the multi-process checks: every collective on data from helpers/data.ts, then FSDP training
// with every strategy; results land in <outDir> for the test process to compare with naive computations.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { initProcessGroup } from "../../src/index.js";
import { TEST_PIECE_ELEMS } from "../helpers/data.js";
import { runCollectiveChecks } from "./collective-checks.js";
import { runFsdpChecks } from "./fsdp-checks.js";

const outDir = process.argv[2];
const g = await initProcessGroup({ timeoutMs: 20_000, pieceElems: TEST_PIECE_ELEMS });
const r = g.rank;
const save = (name: string, a: Float32Array) =>
  writeFileSync(join(outDir, `r${r}-${name}.bin`), new Uint8Array(a.buffer, a.byteOffset, a.byteLength));

await runCollectiveChecks(g, save);
if (process.argv[3] === "fsdp") await runFsdpChecks(g, outDir);
await g.destroy();
