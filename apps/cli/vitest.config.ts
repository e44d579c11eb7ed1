import { defineConfig } from "vitest/config";

// CLI tests run the built dist/cli.js in child processes (and one drives Chromium): give them time,
// and run files one after another so they do not fight over the two cores.
export default defineConfig({
  test: { testTimeout: 180_000, hookTimeout: 180_000, fileParallelism: false },
});
