// A rank for the failure tests: `loop` runs all-reduces until something breaks; `mismatch` makes rank 0
// and the others issue different collectives; `size-mismatch` the same collective on different sizes.
// `until` runs all-reduces until the file named by TEST_STOP_FILE exists, then ends cleanly.
// Every failure must surface as an error → exit code 1.
import { existsSync } from "node:fs";
import { initProcessGroup } from "../../src/index.js";

const mode = process.argv[2];
try {
  const g = await initProcessGroup({ timeoutMs: Number(process.argv[3] ?? 20_000) });
  if (mode === "loop" || mode === "until") {
    const buf = new Float32Array(200_000);
    const stop = new Float32Array(1);
    for (let i = 0; ; i++) {
      if (mode === "until") {
        // Stop together: one rank seeing the file first must not leave the others mid-collective.
        stop[0] = existsSync(process.env.TEST_STOP_FILE!) ? 1 : 0;
        await g.allReduce(stop, "max");
        if (stop[0]) break;
      }
      buf.fill(1);
      await g.allReduce(buf);
      if (buf[0] !== g.size) throw new Error(`wrong sum ${buf[0]}`);
      if (i === 2) process.stdout.write("ready\n");
    }
  } else if (mode === "mismatch") {
    if (g.rank === 0) await g.allReduce(new Float32Array(10));
    else await g.allGather(new Float32Array(10));
  } else if (mode === "size-mismatch") {
    await g.allReduce(new Float32Array(g.rank === 0 ? 10 : 12));
  }
  await g.destroy();
} catch (e) {
  process.stderr.write(`rank ${process.env.RANK} failed: ${(e as Error).message}\n`);
  process.exit(1);
}
