// The install script of every biomed-llama native addon, once: build build/Release/<name>.node with
// node-gyp unless it is newer than its sources, and never let a failed build break an install.
// A compile failure fails `build` (exit 1) but only warns during `install`, where an offline machine
// without Node headers must still finish installing; the addon is then simply unavailable.
// Plain JavaScript shipped as-is: it runs from install scripts, before anything is built.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * @typedef {object} AddonBuild
 * @property {string} output  the built addon, relative to the package: "build/Release/blas_addon.node"
 * @property {string[]} inputs  what it is built from, relative to the package ("src/addon.c", "binding.gyp")
 * @property {string} [skip]  why not to build at all (its library is missing, ...): printed, exit 0
 * @property {string} [library]  what the build needs besides node-gyp, named when node-gyp is missing
 * @property {string} [building]  printed before node-gyp runs: "building against OpenBLAS from …"
 * @property {string} unavailable  what a user lacks while the addon is not built
 * @property {string} how  how to get it: "apt-get install …, then: pnpm --filter … build:native"
 */

/**
 * Runs the addon's build as its install / build / build:native script would: `--force` on the command
 * line rebuilds even when the output is up to date; npm_lifecycle_event=install turns failures into
 * warnings. Every line printed starts with the package's name. Sets process.exitCode to 1 when a build
 * outside `install` fails.
 * @param {string | URL} packageDirOrUrl  the addon package's root, where package.json and binding.gyp
 *   are: a path, or a file URL such as `new URL("..", import.meta.url)` from its scripts/
 * @param {AddonBuild} addon
 */
export function buildAddon(packageDirOrUrl, addon) {
  const packageDir =
    packageDirOrUrl instanceof URL ? fileURLToPath(packageDirOrUrl) : String(packageDirOrUrl);
  const packageName = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8")).name;
  const force = process.argv.includes("--force");
  const duringInstall = process.env.npm_lifecycle_event === "install";

  if (addon.skip) {
    console.log(`${packageName}: ${addon.skip}`);
    return;
  }

  const output = join(packageDir, addon.output);
  const newest = Math.max(...addon.inputs.map((f) => statSync(join(packageDir, f)).mtimeMs));
  if (!force && existsSync(output) && statSync(output).mtimeMs >= newest) {
    console.log(`${packageName}: native addon is up to date`);
    return;
  }

  function fail(msg) {
    if (duringInstall) {
      console.warn(`${packageName}: WARNING ${msg}; ${addon.unavailable} until: ${addon.how}`);
    } else {
      console.error(`${packageName}: ${msg}`);
      process.exitCode = 1;
    }
  }
  const gyp = nodeGypCommand();
  if (!gyp) {
    fail(
      `${addon.library ? `${addon.library} was found but node-gyp was not` : "node-gyp was not found"} (install it: npm i -g node-gyp)`,
    );
    return;
  }
  if (addon.building) console.log(`${packageName}: ${addon.building}`);
  const r = spawnSync(gyp[0], [...gyp.slice(1), "rebuild"], {
    cwd: packageDir,
    env: nodeGypEnv(),
    stdio: "inherit",
  });
  if (r.status !== 0) fail(`node-gyp rebuild failed (exit ${r.status ?? r.signal})`);
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

function nodeGypEnv() {
  const env = { ...process.env };
  // Distribution Node (Debian) ships its headers in /usr/include/node; without this node-gyp downloads them.
  if (
    !env.npm_config_nodedir &&
    existsSync("/usr/include/node/node_api.h") &&
    process.execPath.startsWith("/usr/bin/")
  )
    env.npm_config_nodedir = "/usr";
  return env;
}
