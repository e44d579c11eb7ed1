#!/usr/bin/env node
// Prints the compiler or linker flags for the OpenBLAS on this machine, for binding.gyp.
// Usage: node scripts/blas-flags.mjs compile|link   (exit 1 when no OpenBLAS with cblas.h is found)
// Order: pkg-config openblas (Debian's libopenblas-dev: the pthread variant's own cblas.h, which
// declares openblas_set_num_threads), then the usual header directories with -lopenblas.
// Not /usr/include/<triplet>/cblas.h first: on Debian that is an alternatives link that may point at
// netlib's reference CBLAS, whose header lacks the openblas_* calls.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { commandOutput, runFlagsScript } from "@biomed-llama/addon-build/library-flags";

/** { compile, link, source, header } or null. */
export function blasFlags() {
  const c = commandOutput("pkg-config", ["--cflags", "openblas"]);
  const l = commandOutput("pkg-config", ["--libs", "openblas"]);
  if (c !== null && l !== null) {
    const dirs = c
      .split(/\s+/)
      .filter((t) => t.startsWith("-I"))
      .map((t) => t.slice(2));
    const header = [...dirs, "/usr/include"].map((d) => join(d, "cblas.h")).find((p) => existsSync(p));
    if (header) return { compile: c, link: l, source: "pkg-config openblas", header };
  }
  for (const dir of [
    "/usr/include/x86_64-linux-gnu/openblas-pthread",
    "/usr/include/aarch64-linux-gnu/openblas-pthread",
    "/usr/include/openblas",
    "/usr/local/include",
  ]) {
    const header = join(dir, "cblas.h");
    if (existsSync(header) && existsSync(join(dir, "openblas_config.h")))
      return { compile: `-I${dir}`, link: "-lopenblas", source: header, header };
  }
  return null;
}

runFlagsScript(
  import.meta.url,
  blasFlags,
  "blas-flags: no OpenBLAS (pkg-config openblas or cblas.h + openblas_config.h) found",
);
