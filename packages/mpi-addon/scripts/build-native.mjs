#!/usr/bin/env node
// Builds build/Release/mpi_addon.node with node-gyp when an MPI installation is present.
// Without MPI this prints one note and exits 0: the addon is optional and must never break
// `pnpm install` or `pnpm build` for people who only use the TCP transport. The build itself —
// up-to-date check, Node headers, node-gyp, warn-only during install — is @biomed-llama/addon-build's.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { buildAddon } from "@biomed-llama/addon-build";
import { mpiFlags } from "./mpi-flags.mjs";

const HOW =
  "apt-get install libopenmpi-dev openmpi-bin, then: pnpm --filter @biomed-llama/mpi-addon build:native";
const flags = mpiFlags();
// Flags whose include directories hold no mpi.h cannot compile the addon: that counts as no MPI.
const includeDirs = flags ? flags.compile.split(/\s+/).filter((t) => t.startsWith("-I")) : [];
const header = includeDirs.map((d) => join(d.slice(2), "mpi.h")).find((p) => existsSync(p));

buildAddon(new URL("..", import.meta.url), {
  output: "build/Release/mpi_addon.node",
  inputs: ["src/addon.cc", "binding.gyp"],
  skip:
    !flags || (includeDirs.length > 0 && !header)
      ? `no MPI found (mpicc / mpi.h); skipped the native build. For --transport mpi: ${HOW}`
      : undefined,
  library: "MPI",
  building: `building against MPI from ${flags?.source}`,
  unavailable: "--transport mpi will be unavailable",
  how: HOW,
});
