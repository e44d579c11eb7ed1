import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // CI runs on 2 shared cores next to turbo's builds: a test that takes a second on an idle machine
    // may take several under load. A hung test still fails, after a minute.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
