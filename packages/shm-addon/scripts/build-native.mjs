#!/usr/bin/env node
// Builds build/Release/shm_addon.node with node-gyp (POSIX mmap; no library beyond libc).
// The addon is optional (fsdp-sharding then keeps same-machine collectives on its TCP ring) and must
// never break `pnpm install`: a compile failure fails `build` (exit 1) but only warns during `install`,
// where an offline machine without Node headers must still finish installing.
import { spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const output = join(pkgDir, "build", "Release", "shm_addon.node");
const force = process.argv.includes("--force");
const duringInstall = process.env.npm_lifecycle_event === "install";
const HOW = "pnpm --filter @biomed-llama/shm-addon build:native (needs a C compiler and Node headers)";

if (process.platform === "win32") {
  console.log("@biomed-llama/shm-addon: POSIX shared memory only; skipped the native build on Windows");
  process.exit(0);
}

const newest = Math.max(...["src/addon.c", "binding.gyp"].map((f) => statSync(join(pkgDir, f)).mtimeMs));
if (!force && existsSync(output) && statSync(output).mtimeMs >= newest) {
  console.log("@biomed-llama/shm-addon: native addon is up to date");
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
      `@biomed-llama/shm-addon: WARNING ${msg}; same-machine collectives stay on TCP until: ${HOW}`,
    );
    process.exit(0);
  }
  console.error(`@biomed-llama/shm-addon: ${msg}`);
  process.exit(1);
}
if (!gyp) fail("node-gyp was not found (install it: npm i -g node-gyp)");
const r = spawnSync(gyp[0], [...gyp.slice(1), "rebuild"], { cwd: pkgDir, env, stdio: "inherit" });
if (r.status !== 0) fail(`node-gyp rebuild failed (exit ${r.status ?? r.signal})`);
