#!/usr/bin/env node
// Builds build/Release/native_backend.node with node-gyp when oneDNN (Debian: libdnnl-dev) is present.
// Without it this prints one note and exits 0: the backend is optional (llama-model then falls back to
// wasm) and must never break `pnpm install` or `pnpm build`. The build itself — up-to-date check, Node
// headers, node-gyp, warn-only during install — is @biomed-llama/addon-build's.
import { existsSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildAddon } from "@biomed-llama/addon-build";

const packageDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const HOW = "apt-get install libdnnl-dev, then: pnpm --filter @biomed-llama/native-backend build:native";
// BIOMED_LLAMA_NATIVE_BUILD=0 skips the build as if oneDNN were absent (tests of the fallback use it).
const disabled = process.env.BIOMED_LLAMA_NATIVE_BUILD === "0";
const header = disabled
  ? undefined
  : ["/usr/include/oneapi/dnnl/dnnl.h", "/usr/local/include/oneapi/dnnl/dnnl.h"].find((p) => existsSync(p));

buildAddon(packageDir, {
  output: "build/Release/native_backend.node",
  inputs: [
    ...readdirSync(join(packageDir, "src", "native")).map((f) => join("src", "native", f)),
    "binding.gyp",
  ],
  skip: header
    ? undefined
    : `${disabled ? "BIOMED_LLAMA_NATIVE_BUILD=0" : "no oneDNN found (oneapi/dnnl/dnnl.h)"}; skipped the native build. For the native backend: ${HOW}`,
  library: "oneDNN",
  building: `building against oneDNN (${header})`,
  unavailable: "the native backend will be unavailable",
  how: HOW,
});
