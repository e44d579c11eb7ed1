#!/usr/bin/env node
// Builds build/Release/shm_addon.node with node-gyp (POSIX mmap; no library beyond libc).
// The addon is optional (fsdp-sharding then keeps same-machine collectives on its TCP ring) and must
// never break `pnpm install`. The build itself — up-to-date check, Node headers, node-gyp, warn-only
// during install — is @biomed-llama/addon-build's.
import { buildAddon } from "@biomed-llama/addon-build";

buildAddon(new URL("..", import.meta.url), {
  output: "build/Release/shm_addon.node",
  inputs: ["src/addon.c", "binding.gyp"],
  skip:
    process.platform === "win32"
      ? "POSIX shared memory only; skipped the native build on Windows"
      : undefined,
  unavailable: "same-machine collectives stay on TCP",
  how: "pnpm --filter @biomed-llama/shm-addon build:native (needs a C compiler and Node headers)",
});
