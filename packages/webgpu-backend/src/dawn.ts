// Dawn (Google's WebGPU implementation) in Node, from the `webgpu` npm package, which ships dawn.node
// prebuilt. tfjs-backend-webgpu registers itself only when `navigator.gpu` exists at import time, and
// its shaders use the GPU* constants as globals, so both are installed here, once, before it loads.

/** The subset of the WebGPU API this package touches (the full types are in @webgpu/types). */
export interface GpuAdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter?: boolean;
}
export interface GpuAdapter {
  readonly info: GpuAdapterInfo;
  readonly limits: Record<string, number>;
  readonly features: ReadonlySet<string>;
  requestDevice(descriptor?: {
    requiredFeatures?: string[];
    requiredLimits?: Record<string, number>;
  }): Promise<GpuDevice>;
}
export interface GpuDevice {
  readonly limits: Record<string, number>;
  readonly lost: Promise<{ reason: string; message: string }>;
  onuncapturederror: ((ev: { error: { message: string } }) => void) | null;
  destroy(): void;
}
export interface Gpu {
  requestAdapter(options?: {
    powerPreference?: "high-performance" | "low-power";
    forceFallbackAdapter?: boolean;
  }): Promise<GpuAdapter | null>;
}

let gpu: Gpu | null = null;

/**
 * `navigator.gpu`, from Dawn. A runtime that already has one (Deno, a browser, a user's own setup) keeps
 * it; otherwise dawn.node is loaded, its GPU* globals installed and `navigator.gpu` created. Throws with
 * the reason when the `webgpu` package cannot load (e.g. no prebuilt dawn.node for this platform).
 */
export async function loadDawn(): Promise<Gpu> {
  if (gpu) return gpu;
  const g = globalThis as { navigator?: { gpu?: Gpu } };
  if (g.navigator?.gpu) {
    gpu = g.navigator.gpu;
    return gpu;
  }
  const dawn = (await import(/* @vite-ignore */ "webgpu")) as unknown as {
    create(flags: string[]): Gpu;
    globals: Record<string, unknown>;
  };
  for (const [k, v] of Object.entries(dawn.globals))
    if (!(k in globalThis)) Object.assign(globalThis, { [k]: v });
  gpu = dawn.create([]);
  // Node 21+ has a global navigator (without gpu); Node 20 has none.
  if (g.navigator) Object.defineProperty(g.navigator, "gpu", { value: gpu, configurable: true });
  else Object.defineProperty(globalThis, "navigator", { value: { gpu }, configurable: true, writable: true });
  return gpu;
}
