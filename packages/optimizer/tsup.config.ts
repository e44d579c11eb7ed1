import { defineConfig } from "tsup";

export default defineConfig({
  entry: ["src/index.ts", "src/tfjs.ts"],
  format: ["esm", "cjs"],
  dts: true,
  clean: true,
  sourcemap: true,
  target: "node20",
  // import.meta.url in the CJS build: native-kernel.ts resolves the optional native backend from it.
  shims: true,
});
