import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // The suite is small (seconds), but CI and the dev box are shared: allow for a loaded machine
    // (loading the real tokenizer model, parsing the real PubMedQA file) rather than flake.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
