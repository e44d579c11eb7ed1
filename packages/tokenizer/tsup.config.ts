import { defineConfig } from "tsup";

export default defineConfig({
  // The worker is its own entry so `new Worker(<dist>/tokenize-worker.js)` finds it after a build.
  entry: ["src/index.ts", "src/tokenize-worker.ts"],
  format: ["esm", "cjs"],
  dts: { entry: "src/index.ts" },
  clean: true,
  sourcemap: true,
  // import.meta.url in the CommonJS build, for locating models/ and the worker.
  shims: true,
  target: "node20",
});
