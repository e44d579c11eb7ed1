export { type AdapterReport, describeAdapter, NoGpuAdapterError, requestGpuAdapter } from "./adapter.js";
export { loadDawn } from "./dawn.js";
export { WebGpuDeviceError, WebGpuLimitError, WebGpuSyncReadError } from "./guards.js";
export { registerWebGpuBackend, WEBGPU_BACKEND, webGpuAdapterReport } from "./register.js";
