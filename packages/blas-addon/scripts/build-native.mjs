#!/usr/bin/env node
// Builds build/Release/blas_addon.node with node-gyp when OpenBLAS (libopenblas-dev) is present.
// Without it this prints one note and exits 0: the addon is optional (llama-model's wasm backend then
// keeps XNNPACK for matmul) and must never break `pnpm install` or `pnpm build`.
// A compile failure WITH OpenBLAS present fails `build` (exit 1) but only warns during `install`, where
// an offline machine without Node headers must still finish installing.
import { spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { blasFlags } from "./blas-flags.mjs";

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const output = join(pkgDir, "build", "Release", "blas_addon.node");
const force = process.argv.includes("--force");
const duringInstall = process.env.npm_lifecycle_event === "install";
const HOW = "apt-get install libopenblas-dev, then: pnpm --filter @biomed-llama/blas-addon build:native";

const flags = blasFlags();
if (!flags) {
  console.log(
    `@biomed-llama/blas-addon: no OpenBLAS found (cblas.h); skipped the native build. For BLAS matmul: ${HOW}`,
  );
  process.exit(0);
}

const newest = Math.max(...["src/addon.c", "binding.gyp"].map((f) => statSync(join(pkgDir, f)).mtimeMs));
if (!force && existsSync(output) && statSync(output).mtimeMs >= newest) {
  console.log("@biomed-llama/blas-addon: native addon is up to date");
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
    console.warn(`@biomed-llama/blas-addon: WARNING ${msg}; BLAS matmul will be unavailable until: ${HOW}`);
    process.exit(0);
  }
  console.error(`@biomed-llama/blas-addon: ${msg}`);
  process.exit(1);
}
if (!gyp) fail("OpenBLAS was found but node-gyp was not (install it: npm i -g node-gyp)");
console.log(`@biomed-llama/blas-addon: building against OpenBLAS from ${flags.source}`);
const r = spawnSync(gyp[0], [...gyp.slice(1), "rebuild"], { cwd: pkgDir, env, stdio: "inherit" });
if (r.status !== 0) fail(`node-gyp rebuild failed (exit ${r.status ?? r.signal})`);
