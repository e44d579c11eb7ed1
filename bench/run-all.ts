// Runs every benchmark in this folder one after another (they measure wall time, so never in
// parallel); each writes its JSON to bench/results/. `pnpm bench` (or `pnpm tsx bench/run-all.ts
// [name-filter]`) from the repository root; a single one: `pnpm tsx bench/<file>.ts`.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const filter = process.argv[2] ?? "";
const files = readdirSync(here)
  .filter((f) => f.endsWith(".ts") && f !== "run-all.ts" && f.includes(filter))
  .sort();
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
