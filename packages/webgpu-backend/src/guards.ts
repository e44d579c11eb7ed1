import type { GpuDevice } from "./dawn.js";

// WebGPU reports a failed dispatch (a binding over the device's limit, an out-of-memory buffer) as an
// asynchronous "uncaptured error" and carries on: the kernel's output is whatever the buffer held.
// tfjs-backend-webgpu does not listen for these, so a too-large tensor would give a wrong number. The
// guards below make each of those a thrown error: binding sizes are checked before every dispatch, and a
// device error that still happens poisons every later read.

export class WebGpuLimitError extends Error {
  override name = "WebGpuLimitError";
}
export class WebGpuDeviceError extends Error {
  override name = "WebGpuDeviceError";
}
export class WebGpuSyncReadError extends Error {
  override name = "WebGpuSyncReadError";
}

interface TensorInfoLike {
  dataId: object;
  shape: number[];
  dtype: string;
}
/** The members of tfjs-backend-webgpu's WebGPUBackend the guards wrap. */
export interface WebGpuBackendLike {
  device: GpuDevice;
  tensorMap: { get(dataId: object): { values: unknown; resource?: unknown; dtype: string } | undefined };
  runWebGPUProgram(
    program: { constructor: { name: string }; outputShape: number[]; shaderKey?: string },
    inputs: TensorInfoLike[],
    outputDtype: string,
    uniforms?: unknown,
    output?: TensorInfoLike,
  ): TensorInfoLike;
  read(dataId: object): Promise<unknown>;
  readSync(dataId: object): unknown;
}

const bytesOf = (shape: readonly number[], dtype: string) =>
  shape.reduce((a, b) => a * b, 1) * (dtype === "complex64" ? 8 : 4);
const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;

/** Wraps `backend`'s dispatch and reads with the checks above (idempotent). */
export function installGuards(backend: WebGpuBackendLike): void {
  const b = backend as WebGpuBackendLike & { __biomedGuarded?: boolean };
  if (b.__biomedGuarded) return;
  b.__biomedGuarded = true;
  const limit = backend.device.limits.maxStorageBufferBindingSize;
  let deviceError: string | null = null;
  backend.device.onuncapturederror = (ev) => {
    deviceError ??= ev.error.message.split("\n")[0];
  };
  backend.device.lost.then((info) => {
    deviceError ??= `device lost (${info.reason}): ${info.message}`;
  });
  const check = () => {
    if (deviceError)
      throw new WebGpuDeviceError(
        `webgpu: the device reported an error, results since are unusable: ${deviceError}`,
      );
  };

  const run = backend.runWebGPUProgram.bind(backend);
  backend.runWebGPUProgram = (program, inputs, outputDtype, uniforms, output) => {
    check();
    const kernel = program.constructor.name.replace(/Program$/, "");
    inputs.forEach((t, i) => {
      const n = bytesOf(t.shape, t.dtype);
      if (n > limit)
        throw new WebGpuLimitError(
          `webgpu: ${kernel} input ${i} [${t.shape}] ${t.dtype} is ${mib(n)}, over this adapter's storage binding limit of ${mib(limit)} (maxStorageBufferBindingSize)`,
        );
    });
    const shape = output?.shape ?? program.outputShape;
    const n = bytesOf(shape, output?.dtype ?? outputDtype);
    if (n > limit)
      throw new WebGpuLimitError(
        `webgpu: ${kernel} output [${shape}] is ${mib(n)}, over this adapter's storage binding limit of ${mib(limit)} (maxStorageBufferBindingSize)`,
      );
    return run(program, inputs, outputDtype, uniforms, output);
  };

  const read = backend.read.bind(backend);
  backend.read = async (dataId) => {
    check();
    const values = await read(dataId);
    check();
    return values;
  };

  // tfjs reads GPU data synchronously through an OffscreenCanvas, which Node does not have: say what to
  // do instead of failing with "OffscreenCanvas is not defined".
  const readSync = backend.readSync.bind(backend);
  backend.readSync = (dataId) => {
    check();
    const d = backend.tensorMap.get(dataId);
    if (d && d.values == null && d.dtype !== "string")
      throw new WebGpuSyncReadError(
        "webgpu: a GPU tensor cannot be read synchronously in Node (dataSync/arraySync); use await tensor.data()",
      );
    return readSync(dataId);
  };
}
