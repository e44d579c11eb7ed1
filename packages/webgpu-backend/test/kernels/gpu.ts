// Shared by the corrected kernels' tests: whether to run (an adapter, or CI, where a missing adapter must
// fail), running a function on "webgpu" (GPU kernels even for small tensors) or "cpu", and comparing.
import * as tf from "@tensorflow/tfjs";
import { expect } from "vitest";
import { registerWebGpuBackend, requestGpuAdapter } from "../../src/index.js";

let adapter = true;
try {
  await requestGpuAdapter({ allowSoftware: true });
} catch {
  adapter = false;
}
/** Run the GPU tests: an adapter is there, or this is CI (where registering then fails the tests). */
export const runGpuTests = adapter || Boolean(process.env.CI);

export async function setupWebGpu(): Promise<void> {
  await registerWebGpuBackend({ allowSoftware: true });
}

export interface Result {
  shape: number[];
  dtype: string;
  values: number[];
}

/** `fn`'s outputs computed on `backend`, read with await data() (a device error throws here). */
export async function on(backend: "webgpu" | "cpu", fn: () => tf.Tensor | tf.Tensor[]): Promise<Result[]> {
  await tf.setBackend(backend);
  if (backend === "webgpu") tf.env().set("WEBGPU_CPU_FORWARD", false);
  const outs = tf.tidy(() => [fn()].flat());
  const res: Result[] = [];
  for (const t of outs) res.push({ shape: t.shape, dtype: t.dtype, values: Array.from(await t.data()) });
  tf.dispose(outs);
  return res;
}

export const one = async (backend: "webgpu" | "cpu", fn: () => tf.Tensor) => (await on(backend, fn))[0];

/**
 * webgpu's result of `fn` equals cpu's: shape, dtype and every value (NaN = NaN), within `rel` of |cpu|
 * plus `abs`. `fn` must create its tensors itself (a tensor made on one backend and read on the other
 * would be read synchronously from the GPU).
 */
export async function expectLikeCpu(
  fn: () => tf.Tensor | tf.Tensor[],
  tol: { rel?: number; abs?: number } = {},
): Promise<Result[]> {
  const { rel = 0, abs = 0 } = tol;
  const got = await on("webgpu", fn);
  const want = await on("cpu", fn);
  expect(got.length).toBe(want.length);
  got.forEach((g, k) => {
    const w = want[k];
    expect(g.shape).toEqual(w.shape);
    expect(g.dtype).toBe(w.dtype);
    const bad = g.values.flatMap((v, i) => {
      const c = w.values[i];
      const ok =
        v === c ||
        (Number.isNaN(v) && Number.isNaN(c)) ||
        (Number.isFinite(c) && Math.abs(v - c) <= rel * Math.abs(c) + abs);
      return ok ? [] : [`[${i}] ${v} vs cpu ${c}`];
    });
    expect(bad.slice(0, 5)).toEqual([]);
  });
  return got;
}
