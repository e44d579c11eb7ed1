// What the addons' flag scripts (blas-addon's blas-flags.mjs, mpi-addon's mpi-flags.mjs) share.
// binding.gyp runs those scripts (`<!@(node scripts/blas-flags.mjs link)`) to learn where a system
// library is; each script knows how to look for its own library and uses these to ask and to answer.
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

/** A command's stdout, trimmed; null when it is missing or fails (its stderr is dropped). */
export function commandOutput(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return null;
  }
}

/** -L dirs also become rpaths, so the addon finds its library without LD_LIBRARY_PATH. */
export function withRpath(link) {
  const rpaths = link
    .split(/\s+/)
    .filter((t) => t.startsWith("-L"))
    .map((t) => `-Wl,-rpath,${t.slice(2)}`);
  return [link, ...rpaths].join(" ");
}

/**
 * The command line of a flags script, run only when that script is the one node started (binding.gyp's
 * `<!@(node scripts/blas-flags.mjs link)`), not when build-native.mjs imports it: `compile` prints the
 * compiler flags, `link` the linker flags with rpaths, anything else all of them as JSON. When
 * findFlags() finds nothing, prints `notFound` to stderr and exits 1, which stops node-gyp's configure.
 * @param {string} moduleUrl  the flags script's import.meta.url
 * @param {() => { compile: string, link: string } | null} findFlags
 * @param {string} notFound
 */
export function runFlagsScript(moduleUrl, findFlags, notFound) {
  if (process.argv[1] !== fileURLToPath(moduleUrl)) return;
  const what = process.argv[2];
  const flags = findFlags();
  if (!flags) {
    process.stderr.write(`${notFound}\n`);
    process.exit(1);
  }
  if (what === "compile") process.stdout.write(`${flags.compile}\n`);
  else if (what === "link") process.stdout.write(`${withRpath(flags.link)}\n`);
  else process.stdout.write(`${JSON.stringify(flags)}\n`);
}
