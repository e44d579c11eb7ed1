// Runs every benchmark in this folder one after another (they measure wall time, so never in
// parallel); each writes its JSON to bench/results/. `pnpm bench` (or `pnpm tsx bench/run-all.ts
// [name-filter]`) from the repository root; a single one: `pnpm tsx bench/<file>.ts`.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const filter = process.argv[2] ?? "";
// Shared modules (no bench of their own) are skipped; the results table is made last, from every result.
const NOT_BENCHES = [
  "run-all.ts",
  "write-result.ts",
  "llama-configs.ts",
  "bench-args.ts",
  "results-table.ts",
];
const files = readdirSync(here)
  .filter((f) => f.endsWith(".ts") && !NOT_BENCHES.includes(f) && f.includes(filter))
  .sort();
files.push("results-table.ts");
let failed = 0;
for (const f of files) {
  process.stderr.write(`\n== bench/${f}\n`);
  const r = spawnSync(process.execPath, ["--import", "tsx", join(here, f)], { stdio: "inherit", cwd: here });
  if (r.status !== 0) {
    failed++;
    process.stderr.write(`bench/${f} exited with ${r.status}\n`);
  }
}
process.exit(failed ? 1 : 0);
