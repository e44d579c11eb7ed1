import * as tf from "@tensorflow/tfjs";

// The pieces of tfjs-backend-webgpu the corrected kernels use: its kernel registry entries (the
// originals are kept and called where they are right), its program dispatch (runWebGPUProgram), and the
// shape of a program object as its shader generator reads it (webgpu_program.js in tfjs-backend-webgpu).

export const WEBGPU = "webgpu";

export interface TensorInfo {
  dataId: object;
  shape: number[];
  dtype: string;
}

export interface Uniform {
  type: "int32" | "float32" | "uint32";
  data: number[];
}

/** A compute program as tfjs-backend-webgpu compiles and dispatches it. */
export interface WebGpuProgram {
  variableNames: string[];
  outputShape: number[];
  /** Must name everything the generated code depends on beyond input / output ranks and dtypes. */
  shaderKey: string;
  dispatchLayout: { x: number[]; y?: number[]; z?: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  /** Declares `uniforms.size` (the output's element count). */
  size?: boolean;
  /** Extra uniform members, e.g. "numSegments : i32,". */
  uniforms?: string;
  /** The output is declared array<atomic<i32>>. */
  atomic?: boolean;
  getUserCode(): string;
}

/** The members of tfjs-backend-webgpu's WebGPUBackend these kernels use. */
export interface WebGpuBackendInternals {
  tensorMap: { get(dataId: object): { dtype: string } | undefined };
  runWebGPUProgram(
    program: WebGpuProgram,
    inputs: TensorInfo[],
    outputDtype: string,
    uniforms?: Uniform[],
    output?: TensorInfo,
  ): TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
}

type Attrs = Record<string, unknown>;
export interface KernelArgs {
  inputs: Record<string, TensorInfo>;
  backend: WebGpuBackendInternals;
  attrs?: Attrs;
}
export type KernelFn = (args: KernelArgs) => TensorInfo | TensorInfo[];

const CORRECTED = Symbol.for("@biomed-llama/webgpu-backend.corrected");

/**
 * Replaces the "webgpu" kernel `kernelName` by `make(original)`, where `original` is the kernel it
 * replaces (called where it is right). Idempotent: a kernel already corrected is left alone. No-op
 * where tfjs-backend-webgpu has no such kernel.
 */
export function correctKernel(kernelName: string, make: (original: KernelFn) => KernelFn): void {
  const config = tf.getKernel(kernelName, WEBGPU);
  if (!config) return;
  const original = config.kernelFunc as unknown as KernelFn & { [CORRECTED]?: boolean };
  if (original[CORRECTED]) return;
  const corrected = make(original) as KernelFn & { [CORRECTED]?: boolean };
  corrected[CORRECTED] = true;
  tf.unregisterKernel(kernelName, WEBGPU);
  tf.registerKernel({ ...config, kernelFunc: corrected as unknown as tf.KernelFunc });
}

/** Runs the "webgpu" kernel registered as `kernelName` (a corrected one where there is one). */
export function runKernel(
  kernelName: string,
  backend: WebGpuBackendInternals,
  inputs: Record<string, TensorInfo>,
  attrs: Attrs = {},
): TensorInfo {
  const config = tf.getKernel(kernelName, WEBGPU);
  if (!config) throw new Error(`webgpu: no ${kernelName} kernel`);
  return (config.kernelFunc as unknown as KernelFn)({ inputs, backend, attrs }) as TensorInfo;
}

export const reshape = (backend: WebGpuBackendInternals, x: TensorInfo, shape: number[]) =>
  runKernel("Reshape", backend, { x }, { shape });

export const fill = (backend: WebGpuBackendInternals, shape: number[], value: number, dtype: string) =>
  runKernel("Fill", backend, {}, { shape, value, dtype });

export function disposeAll(backend: WebGpuBackendInternals, infos: TensorInfo[]): void {
  for (const t of infos) backend.disposeData(t.dataId);
}

export const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** WGSL element type of a tensor buffer of `dtype` (bool is stored as i32). */
export const gpuType = (dtype: string) => (dtype === "float32" ? "f32" : "i32");

/** The dtype of the GPU buffer behind `t` (a Cast from int32 to float32 shares the int32 buffer). */
export const bufferDtype = (backend: WebGpuBackendInternals, t: TensorInfo) =>
  backend.tensorMap.get(t.dataId)?.dtype ?? t.dtype;

/** Dispatch fields for a program with one invocation per output element, 64 to a workgroup. */
export function flatDispatch(
  outputShape: number[],
): Pick<WebGpuProgram, "outputShape" | "dispatchLayout" | "dispatch" | "workgroupSize"> {
  return {
    outputShape,
    dispatchLayout: { x: outputShape.map((_, i) => i) },
    dispatch: [Math.ceil(sizeOf(outputShape) / 64), 1, 1],
    workgroupSize: [64, 1, 1],
  };
}

/** Row-major element strides of a dense tensor, the last axis' 1 included (tfjs's computeStrides leaves it out). */
export const stridesOf = (shape: readonly number[]): number[] =>
  shape.length === 0 ? [] : [...tf.util.computeStrides(shape as number[]), 1];
