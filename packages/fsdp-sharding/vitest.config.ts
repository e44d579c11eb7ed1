import { defineConfig } from "vitest/config";

// Most test files start real multi-process jobs; running the files one after another keeps a 2-core
// machine from being swamped so rendezvous and failure-detection tests see realistic scheduling.
export default defineConfig({
  test: { fileParallelism: false, testTimeout: 120_000, hookTimeout: 120_000 },
});
