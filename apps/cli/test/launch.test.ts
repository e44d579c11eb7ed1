import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, expect, test } from "vitest";

const cli = fileURLToPath(new URL("../dist/cli.js", import.meta.url));
// The rank script loads the same build of fsdp-sharding the CLI uses (CJS entry, so a plain .cjs file works).
const fsdpEntry = createRequire(import.meta.url).resolve("@biomed-llama/fsdp-sharding");
const dir = mkdtempSync(join(tmpdir(), "launch-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const script = join(dir, "all-reduce.cjs");
writeFileSync(
  script,
  `const { initProcessGroup } = require(${JSON.stringify(fsdpEntry)});
(async () => {
  const g = await initProcessGroup({ timeoutMs: 30000 });
  const buf = Float32Array.from([g.rank + 1, 10 * (g.rank + 1), process.env.BIOMED_LLAMA_SECRET ? 1 : 0]);
  await g.allReduce(buf);
  console.log("rank " + g.rank + "/" + g.size + " local " + process.env.LOCAL_RANK + " sum " + Array.from(buf).join(","));
  if (process.env.FAIL_RANK === String(g.rank)) process.exit(3);
  await g.destroy();
})().catch((e) => { console.error(e.message); process.exit(1); });
`,
);

function run(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [cli, ...args], {
    encoding: "utf8",
    env: { ...process.env, ...env },
    timeout: 120_000,
  });
}

test("launch --nproc-per-node 2 runs an all-reduce across two ranks, output prefixed by rank", () => {
  const r = run(["launch", "--nproc-per-node", "2", "--", process.execPath, script]);
  expect(r.status, r.stderr).toBe(0);
  // Expected sums by hand: ranks contribute [1, 10, 1] and [2, 20, 1].
  expect(r.stdout).toContain("[rank 0] rank 0/2 local 0 sum 3,30,2");
  expect(r.stdout).toContain("[rank 1] rank 1/2 local 1 sum 3,30,2");
});

test("a failing rank stops the others and the launcher exits with its code, naming it", () => {
  const r = run(["launch", "--nproc-per-node", "3", "--", process.execPath, script], { FAIL_RANK: "1" });
  expect(r.status).toBe(3);
  expect(r.stderr).toContain("biomed-llama launch: rank 1 failed (exit code 3)");
});

test("bad arguments exit 1 with one line", () => {
  const r = run(["launch", "--nproc-per-node", "two", "--", "true"]);
  expect(r.status).toBe(1);
  expect(r.stderr.trim().split("\n")).toEqual([
    'biomed-llama: --nproc-per-node must be a non-negative integer, got "two"',
  ]);
  const multi = run(["launch", "--nproc-per-node", "1", "--nnodes", "2", "--", "true"], {
    BIOMED_LLAMA_SECRET: "",
  });
  expect(multi.status).toBe(1);
  expect(multi.stderr).toMatch(/^biomed-llama: BIOMED_LLAMA_SECRET is not set/);
});
