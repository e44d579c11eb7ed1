#!/usr/bin/env node
// Builds build/Release/native_backend.node with node-gyp when oneDNN (Debian: libdnnl-dev) is present.
// Without it this prints one note and exits 0: the backend is optional (llama-model then falls back to
// wasm) and must never break `pnpm install` or `pnpm build`. A compile failure WITH oneDNN present
// fails `build` (exit 1) but only warns during `install`, where an offline machine without Node headers
// must still finish installing. (Each addon package carries its own copy: they are published alone.)
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const output = join(pkgDir, "build", "Release", "native_backend.node");
const force = process.argv.includes("--force");
const duringInstall = process.env.npm_lifecycle_event === "install";
const HOW = "apt-get install libdnnl-dev, then: pnpm --filter @biomed-llama/native-backend build:native";

// BIOMED_LLAMA_NATIVE_BUILD=0 skips the build as if oneDNN were absent (tests of the fallback use it).
const header =
  process.env.BIOMED_LLAMA_NATIVE_BUILD === "0"
    ? undefined
    : ["/usr/include/oneapi/dnnl/dnnl.h", "/usr/local/include/oneapi/dnnl/dnnl.h"].find((p) => existsSync(p));
if (!header) {
  console.log(
    `@biomed-llama/native-backend: ${process.env.BIOMED_LLAMA_NATIVE_BUILD === "0" ? "BIOMED_LLAMA_NATIVE_BUILD=0" : "no oneDNN found (oneapi/dnnl/dnnl.h)"}; skipped the native build. For the native backend: ${HOW}`,
  );
  process.exit(0);
}

const sources = readdirSync(join(pkgDir, "src", "native")).map((f) => join("src", "native", f));
const newest = Math.max(...[...sources, "binding.gyp"].map((f) => statSync(join(pkgDir, f)).mtimeMs));
if (!force && existsSync(output) && statSync(output).mtimeMs >= newest) {
  console.log("@biomed-llama/native-backend: native addon is up to date");
  process.exit(0);
}

/** node-gyp from the package manager's PATH (npm and pnpm put their copy there for scripts), else npm's. */
function nodeGypCommand() {
  if (process.env.npm_config_node_gyp) return [process.execPath, process.env.npm_config_node_gyp];
  if (spawnSync("node-gyp", ["--version"], { stdio: "ignore" }).status === 0) return ["node-gyp"];
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
  return existsSync(bundled) ? [process.execPath, bundled] : null;
}

const env = { ...process.env };
// Distribution Node (Debian) ships its headers in /usr/include/node; without this node-gyp downloads them.
if (
  !env.npm_config_nodedir &&
  existsSync("/usr/include/node/node_api.h") &&
  process.execPath.startsWith("/usr/bin/")
)
  env.npm_config_nodedir = "/usr";

function fail(msg) {
  if (duringInstall) {
    console.warn(
      `@biomed-llama/native-backend: WARNING ${msg}; the native backend will be unavailable until: ${HOW}`,
    );
    process.exit(0);
  }
  console.error(`@biomed-llama/native-backend: ${msg}`);
  process.exit(1);
}
const gyp = nodeGypCommand();
if (!gyp) fail("oneDNN was found but node-gyp was not (install it: npm i -g node-gyp)");
console.log(`@biomed-llama/native-backend: building against oneDNN (${header})`);
const r = spawnSync(gyp[0], [...gyp.slice(1), "rebuild"], { cwd: pkgDir, env, stdio: "inherit" });
if (r.status !== 0) fail(`node-gyp rebuild failed (exit ${r.status ?? r.signal})`);
