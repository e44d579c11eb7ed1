#!/usr/bin/env node
// Prints the compiler or linker flags for the MPI found on this machine, for binding.gyp.
// Usage: node scripts/mpi-flags.mjs compile|link   (exit 1 when no MPI is found)
// Order: $MPICC (or mpicc) as an Open MPI wrapper (--showme:*), as an MPICH wrapper (-compile-info /
// -link-info), then pkg-config (ompi-c, mpich). Wrappers know site-specific paths that pkg-config may not.
import { commandOutput, runFlagsScript } from "@biomed-llama/addon-build/library-flags";

/** Drops the compiler name and source-file arguments an MPICH "-compile-info" line starts with. */
function flagsOnly(line) {
  return line
    .split(/\s+/)
    .filter((t) => t.startsWith("-") && t !== "-c")
    .join(" ");
}

export function mpiFlags() {
  const mpicc = process.env.MPICC || "mpicc";
  const ompiCompile = commandOutput(mpicc, ["--showme:compile"]);
  const ompiLink = commandOutput(mpicc, ["--showme:link"]);
  if (ompiCompile !== null && ompiLink !== null)
    return { compile: ompiCompile, link: ompiLink, source: `${mpicc} --showme` };
  const mpichCompile = commandOutput(mpicc, ["-compile-info"]);
  const mpichLink = commandOutput(mpicc, ["-link-info"]);
  if (mpichCompile !== null && mpichLink !== null)
    return { compile: flagsOnly(mpichCompile), link: flagsOnly(mpichLink), source: `${mpicc} -compile-info` };
  for (const pkg of ["ompi-c", "mpich"]) {
    const c = commandOutput("pkg-config", ["--cflags", pkg]);
    const l = commandOutput("pkg-config", ["--libs", pkg]);
    if (c !== null && l !== null) return { compile: c, link: l, source: `pkg-config ${pkg}` };
  }
  return null;
}

runFlagsScript(
  import.meta.url,
  mpiFlags,
  "mpi-flags: no MPI compiler wrapper (mpicc) or pkg-config entry found",
);
