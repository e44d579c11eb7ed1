// A rank for the failure tests: `loop` runs all-reduces until something breaks; `mismatch` makes rank 0
// and the others issue different collectives; `size-mismatch` the same collective on different sizes.
// Every failure must surface as an error → exit code 1.
import { initProcessGroup } from "../../src/index.js";

const mode = process.argv[2];
try {
  const g = await initProcessGroup({ timeoutMs: Number(process.argv[3] ?? 20_000) });
  if (mode === "loop") {
    const buf = new Float32Array(200_000);
    for (let i = 0; ; i++) {
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
