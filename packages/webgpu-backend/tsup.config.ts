import { defineConfig } from "tsup";

export default defineConfig({
  entry: ["src/index.ts"],
  format: ["esm", "cjs"],
  dts: true,
  clean: true,
  sourcemap: true,
  target: "node20",
  // Dawn and the tfjs backend are loaded at run time, on request: never bundled.
  external: ["webgpu", "@tensorflow/tfjs-backend-webgpu"],
});
