#!/usr/bin/env node
// Builds build/Release/mpi_addon.node with node-gyp when an MPI installation is present.
// Without MPI this prints one note and exits 0: the addon is optional and must never break
// `pnpm install` or `pnpm build` for people who only use the TCP transport.
// A compile failure WITH MPI present fails `build` (exit 1) but only warns during `install`, where an
// offline machine without Node headers must still finish installing.
import { spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { mpiFlags } from "./mpi-flags.mjs";

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const output = join(pkgDir, "build", "Release", "mpi_addon.node");
const force = process.argv.includes("--force");
const duringInstall = process.env.npm_lifecycle_event === "install";
const HOW =
  "apt-get install libopenmpi-dev openmpi-bin, then: pnpm --filter @biomed-llama/mpi-addon build:native";

const flags = mpiFlags();
const includeDirs = flags ? flags.compile.split(/\s+/).filter((t) => t.startsWith("-I")) : [];
const header = includeDirs.map((d) => join(d.slice(2), "mpi.h")).find((p) => existsSync(p));
if (!flags || (includeDirs.length > 0 && !header)) {
  console.log(
    `@biomed-llama/mpi-addon: no MPI found (mpicc / mpi.h); skipped the native build. For --transport mpi: ${HOW}`,
  );
  process.exit(0);
}

const newest = Math.max(...["src/addon.cc", "binding.gyp"].map((f) => statSync(join(pkgDir, f)).mtimeMs));
if (!force && existsSync(output) && statSync(output).mtimeMs >= newest) {
  console.log("@biomed-llama/mpi-addon: native addon is up to date");
  process.exit(0);
}

/** node-gyp from the package manager's PATH (npm and pnpm put their copy there for scripts), else npm's. */
function nodeGypCommand() {
  if (process.env.npm_config_node_gyp) return [process.execPath, process.env.npm_config_node_gyp];
  const onPath = spawnSync("node-gyp", ["--version"], { stdio: "ignore" });
  if (onPath.status === 0) return ["node-gyp"];
  const bundled = join(
    dirname(process.execPath),
    "..",
    "lib",
    "node_modules",
    "npm",
    "node_modules",
    "node-gyp",
    "bin",
    "node-gyp.js",
  );
  if (existsSync(bundled)) return [process.execPath, bundled];
  return null;
}

const env = { ...process.env };
// Distribution Node (Debian) ships its headers in /usr/include/node; without this node-gyp downloads them.
if (
  !env.npm_config_nodedir &&
  existsSync("/usr/include/node/node_api.h") &&
  process.execPath.startsWith("/usr/bin/")
)
  env.npm_config_nodedir = "/usr";

const gyp = nodeGypCommand();
function fail(msg) {
  if (duringInstall) {
    console.warn(
      `@biomed-llama/mpi-addon: WARNING ${msg}; --transport mpi will be unavailable until: ${HOW}`,
    );
    process.exit(0);
  }
  console.error(`@biomed-llama/mpi-addon: ${msg}`);
  process.exit(1);
}
if (!gyp) fail("MPI was found but node-gyp was not (install it: npm i -g node-gyp)");
console.log(`@biomed-llama/mpi-addon: building against MPI from ${flags.source}`);
const r = spawnSync(gyp[0], [...gyp.slice(1), "rebuild"], { cwd: pkgDir, env, stdio: "inherit" });
if (r.status !== 0) fail(`node-gyp rebuild failed (exit ${r.status ?? r.signal})`);
