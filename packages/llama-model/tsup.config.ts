import { defineConfig } from "tsup";

export default defineConfig({
  entry: ["src/index.ts"],
  format: ["esm", "cjs"],
  dts: true,
  clean: true,
  sourcemap: true,
  target: "node20",
  // wasm-threads.ts resolves tfjs-backend-wasm's files from import.meta.url, in the CJS build too.
  shims: true,
  // An optional dependency, imported at run time only when the native backend is asked for.
  external: ["@biomed-llama/native-backend"],
});
