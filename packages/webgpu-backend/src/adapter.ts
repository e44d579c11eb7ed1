import { type GpuAdapter, type GpuAdapterInfo, loadDawn } from "./dawn.js";

/** What the run logs say about the GPU: "NVIDIA (ampere), NVIDIA A100 …, driver …". */
export interface AdapterReport {
  vendor: string;
  architecture: string;
  device: string;
  /** The driver's own description (for Mesa and NVIDIA it names the driver and its version). */
  description: string;
  /** A software rasterizer (llvmpipe, SwiftShader, WARP): correct, but slower than the CPU backends. */
  software: boolean;
  /** The limit every tensor a kernel reads or writes must fit in, in bytes. */
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
}

export class NoGpuAdapterError extends Error {
  override name = "NoGpuAdapterError";
}

/** Mesa's llvmpipe / lavapipe, Google's SwiftShader and Microsoft's WARP, by what they report. */
function isSoftware(info: GpuAdapterInfo): boolean {
  if (info.isFallbackAdapter) return true;
  if (info.architecture === "software") return true;
  return /llvmpipe|lavapipe|swiftshader|microsoft basic render/i.test(`${info.device} ${info.description}`);
}

export function reportAdapter(adapter: GpuAdapter): AdapterReport {
  const { vendor, architecture, device, description } = adapter.info;
  return {
    vendor,
    architecture,
    device,
    description,
    software: isSoftware(adapter.info),
    maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
    maxBufferSize: adapter.limits.maxBufferSize,
  };
}

/** One line for logs: "NVIDIA ampere (NVIDIA A100-SXM4-80GB, 550.54), binding limit 2048 MiB". */
export function describeAdapter(r: AdapterReport): string {
  const what = [r.vendor, r.architecture].filter(Boolean).join(" ") || "unknown vendor";
  const detail = [r.device, r.description].filter(Boolean).join(", ");
  const mib = (n: number) => `${Math.round(n / 2 ** 20)} MiB`;
  return `${what}${detail ? ` (${detail})` : ""}${r.software ? ", software" : ""}, binding limit ${mib(r.maxStorageBufferBindingSize)}`;
}

/**
 * The high-performance adapter Dawn offers. Without `allowSoftware`, a software adapter is refused
 * (null), which is what `--backend auto` wants: on a machine without a GPU the CPU backends are faster.
 */
export async function requestGpuAdapter(
  opts: { allowSoftware?: boolean } = {},
): Promise<{ adapter: GpuAdapter; report: AdapterReport }> {
  const gpu = await loadDawn();
  const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
  if (!adapter)
    throw new NoGpuAdapterError(
      "no WebGPU adapter (Dawn found no Vulkan device: install a GPU driver, or Mesa's lavapipe for a software one)",
    );
  const report = reportAdapter(adapter);
  if (report.software && !opts.allowSoftware)
    throw new NoGpuAdapterError(`only a software adapter: ${describeAdapter(report)}`);
  return { adapter, report };
}
