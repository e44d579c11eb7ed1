import { defineConfig } from "tsup";

export default defineConfig({
  entry: ["src/index.ts"],
  format: ["esm", "cjs"],
  dts: true,
  clean: true,
  sourcemap: true,
  target: "node20",
  // sample-data.ts finds data/ through import.meta.url; the shim provides it in the CJS build.
  shims: true,
});
