import * as tf from "@tensorflow/tfjs";
import {
  type TensorInfo,
  type Uniform,
  WEBGPU,
  type WebGpuBackendInternals,
  type WebGpuProgram,
} from "./util.js";

// Some of tfjs-backend-webgpu's programs are wrong whichever kernel runs them: its kernels call each
// other directly (Sum, ArgMax, UnsortedSegmentSum, ... call its transpose function, not the registered
// Transpose kernel), so replacing a registered kernel does not reach them. A program fix rewrites such a
// program at dispatch instead: the "webgpu" backend factory is wrapped so that every backend it creates
// passes its programs through the fixes before compiling them.

/** Called with each program before it is compiled and dispatched; may replace its getUserCode. */
export type ProgramFix = (
  program: WebGpuProgram,
  inputs: TensorInfo[],
  outputDtype: string,
  backend: WebGpuBackendInternals,
) => void;

const fixes = new Set<ProgramFix>();
const HOOKED = Symbol.for("@biomed-llama/webgpu-backend.programFixes");

function install(backend: WebGpuBackendInternals): void {
  const b = backend as WebGpuBackendInternals & { [HOOKED]?: boolean };
  if (b[HOOKED]) return;
  b[HOOKED] = true;
  const run = backend.runWebGPUProgram.bind(backend);
  backend.runWebGPUProgram = (program, inputs, outputDtype, uniforms?: Uniform[], output?: TensorInfo) => {
    for (const fix of fixes) fix(program, inputs, outputDtype, backend);
    return run(program, inputs, outputDtype, uniforms, output);
  };
}

/**
 * Applies `fix` to every program of the "webgpu" backend (the one registered now, whether or not it has
 * been created yet). Idempotent per fix.
 */
export function addProgramFix(fix: ProgramFix): void {
  fixes.add(fix);
  const engine = tf.engine() as unknown as {
    registryFactory: Record<string, { factory: (() => unknown) & { [HOOKED]?: boolean } }>;
    /** The backends created so far (tf.findBackend would create one). */
    registry: Record<string, unknown>;
  };
  const entry = engine.registryFactory[WEBGPU];
  if (entry && !entry.factory[HOOKED]) {
    const inner = entry.factory;
    const factory = async () => {
      const backend = (await inner()) as WebGpuBackendInternals;
      install(backend);
      return backend;
    };
    (factory as typeof factory & { [HOOKED]?: boolean })[HOOKED] = true;
    entry.factory = factory;
  }
  const created = engine.registry[WEBGPU];
  if (created) install(created as WebGpuBackendInternals);
}
