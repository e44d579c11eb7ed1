#!/usr/bin/env node
// Prints the compiler or linker flags for the MPI found on this machine, for binding.gyp.
// Usage: node scripts/mpi-flags.mjs compile|link   (exit 1 when no MPI is found)
// Order: $MPICC (or mpicc) as an Open MPI wrapper (--showme:*), as an MPICH wrapper (-compile-info /
// -link-info), then pkg-config (ompi-c, mpich). Wrappers know site-specific paths that pkg-config may not.
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

function run(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return null;
  }
}

/** Drops the compiler name and source-file arguments an MPICH "-compile-info" line starts with. */
function flagsOnly(line) {
  return line
    .split(/\s+/)
    .filter((t) => t.startsWith("-") && t !== "-c")
    .join(" ");
}

export function mpiFlags() {
  const mpicc = process.env.MPICC || "mpicc";
  const ompiCompile = run(mpicc, ["--showme:compile"]);
  const ompiLink = run(mpicc, ["--showme:link"]);
  if (ompiCompile !== null && ompiLink !== null)
    return { compile: ompiCompile, link: ompiLink, source: `${mpicc} --showme` };
  const mpichCompile = run(mpicc, ["-compile-info"]);
  const mpichLink = run(mpicc, ["-link-info"]);
  if (mpichCompile !== null && mpichLink !== null)
    return { compile: flagsOnly(mpichCompile), link: flagsOnly(mpichLink), source: `${mpicc} -compile-info` };
  for (const pkg of ["ompi-c", "mpich"]) {
    const c = run("pkg-config", ["--cflags", pkg]);
    const l = run("pkg-config", ["--libs", pkg]);
    if (c !== null && l !== null) return { compile: c, link: l, source: `pkg-config ${pkg}` };
  }
  return null;
}

/** -L dirs also become rpaths, so the addon finds libmpi without LD_LIBRARY_PATH on non-default prefixes. */
export function withRpath(link) {
  const rpaths = link
    .split(/\s+/)
    .filter((t) => t.startsWith("-L"))
    .map((t) => `-Wl,-rpath,${t.slice(2)}`);
  return [link, ...rpaths].join(" ");
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const what = process.argv[2];
  const flags = mpiFlags();
  if (!flags) {
    process.stderr.write("mpi-flags: no MPI compiler wrapper (mpicc) or pkg-config entry found\n");
    process.exit(1);
  }
  if (what === "compile") process.stdout.write(`${flags.compile}\n`);
  else if (what === "link") process.stdout.write(`${withRpath(flags.link)}\n`);
  else process.stdout.write(`${JSON.stringify(flags)}\n`);
}
