import { defineConfig } from "tsup";

export default defineConfig({
  entry: ["src/index.ts"],
  format: ["esm", "cjs"],
  dts: true,
  clean: true,
  sourcemap: true,
  target: "node20",
  // import.meta.url in the CommonJS build (used to locate zstd-napi for the decoder thread).
  shims: true,
});
