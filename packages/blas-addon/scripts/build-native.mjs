#!/usr/bin/env node
// Builds build/Release/blas_addon.node with node-gyp when OpenBLAS (libopenblas-dev) is present.
// Without it this prints one note and exits 0: the addon is optional (llama-model's wasm backend then
// keeps XNNPACK for matmul) and must never break `pnpm install` or `pnpm build`. The build itself —
// up-to-date check, Node headers, node-gyp, warn-only during install — is @biomed-llama/addon-build's.
import { buildAddon } from "@biomed-llama/addon-build";
import { blasFlags } from "./blas-flags.mjs";

const HOW = "apt-get install libopenblas-dev, then: pnpm --filter @biomed-llama/blas-addon build:native";
const flags = blasFlags();

buildAddon(new URL("..", import.meta.url), {
  output: "build/Release/blas_addon.node",
  inputs: ["src/addon.c", "binding.gyp"],
  skip: flags ? undefined : `no OpenBLAS found (cblas.h); skipped the native build. For BLAS matmul: ${HOW}`,
  library: "OpenBLAS",
  building: `building against OpenBLAS from ${flags?.source}`,
  unavailable: "BLAS matmul will be unavailable",
  how: HOW,
});
