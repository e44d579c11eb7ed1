import * as tf from "@tensorflow/tfjs";
import { type AdapterReport, requestGpuAdapter } from "./adapter.js";
import { installGuards, type WebGpuBackendLike } from "./guards.js";
import { registerWebGpuKernels } from "./kernels/index.js";

export const WEBGPU_BACKEND = "webgpu";

let report: AdapterReport | null = null;

/**
 * Registers tfjs's WebGPU backend on Dawn as "webgpu": the adapter is asked for every limit it offers
 * (tfjs asks for six, leaving e.g. maxStorageBuffersPerShaderStage at the WebGPU default of 8), the
 * backend is wrapped by this package's guards and kernels. Rejects a software adapter unless
 * `allowSoftware`. Resolves to the adapter's report; `tf.setBackend("webgpu")` then selects it.
 */
export async function registerWebGpuBackend(opts: { allowSoftware?: boolean } = {}): Promise<AdapterReport> {
  if (report && tf.findBackendFactory(WEBGPU_BACKEND)) {
    if (report.software && !opts.allowSoftware) await requestGpuAdapter(opts); // throws the same refusal
    return report;
  }
  const { adapter, report: r } = await requestGpuAdapter(opts);
  // Imported only now: the module registers its own factory when navigator.gpu exists, and its kernels.
  const webgpu = (await import(/* @vite-ignore */ "@tensorflow/tfjs-backend-webgpu")) as unknown as {
    WebGPUBackend: new (device: unknown, info: unknown) => WebGpuBackendLike;
  };
  tf.removeBackend(WEBGPU_BACKEND);
  const requiredLimits: Record<string, number> = {};
  for (const key in adapter.limits) {
    const v = adapter.limits[key];
    if (typeof v === "number") requiredLimits[key] = v;
  }
  const requiredFeatures = ["timestamp-query", "shader-f16"].filter((f) => adapter.features.has(f));
  tf.registerBackend(
    WEBGPU_BACKEND,
    async () => {
      const device = await adapter.requestDevice({ requiredFeatures, requiredLimits });
      const backend = new webgpu.WebGPUBackend(device, adapter.info);
      installGuards(backend);
      return backend as unknown as tf.KernelBackend;
    },
    3,
  );
  registerWebGpuKernels();
  report = r;
  return r;
}

/** The adapter of the registered backend, or null before `registerWebGpuBackend`. */
export function webGpuAdapterReport(): AdapterReport | null {
  return report;
}
