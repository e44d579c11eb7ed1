/** A parameter larger than the backend can hand to one kernel (WebGPU's storage binding limit). */
export class TensorLimitError extends Error {
  override name = "TensorLimitError";
}

/** The largest tensor, in bytes, one kernel may read or write on the backend in use; null: no limit. */
export type TensorLimitProbe = () => { bytes: number; what: string } | null;

let probe: TensorLimitProbe = () => null;

/** Set by the backend selection (backend.ts) when it switches to a backend with such a limit. */
export function setTensorLimitProbe(p: TensorLimitProbe): void {
  probe = p;
}

/**
 * Refuses, before anything is allocated or read, a model whose parameter would not fit the backend's
 * per-kernel limit, naming the parameter: on WebGPU a kernel on such a tensor would otherwise fail
 * inside the device, which tfjs does not notice, and compute with whatever the buffer held.
 */
export function checkParameterLimits(shapes: ReadonlyMap<string, readonly number[]>, source: string): void {
  const limit = probe();
  if (!limit) return;
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
  for (const [name, shape] of shapes) {
    const bytes = shape.reduce((a, b) => a * b, 1) * 4;
    if (bytes > limit.bytes)
      throw new TensorLimitError(
        `${source}: "${name}" [${shape}] is ${mib(bytes)} in float32, over ${limit.what} of ${mib(limit.bytes)}; use a GPU with a larger limit or another backend (--backend native)`,
      );
  }
}
