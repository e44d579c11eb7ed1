import { OptimizerInputError, OptimizerStateError } from "./errors.js";
import { nativeAdamW } from "./native-kernel.js";

// Small shards stay on the JS loop: the addon call and thread start-up are not worth it there.
const NATIVE_MIN = 4096;

/**
 * One flat slice of parameters with its gradient. Under FSDP this is the chunk of a flat unit that
 * a rank owns; without sharding it is simply one whole parameter, flattened.
 */
export interface ParamShard {
  /** Names the optimizer state slot, e.g. `unit3/rank0` or `model.norm.weight`. Stable across steps. */
  key: string;
  /** Updated in place. */
  param: Float32Array;
  /** Same length as `param`; read only. */
  grad: Float32Array;
  /** Overrides the optimizer's weight decay for this shard (0 = no decay). */
  weightDecay?: number;
  /**
   * Per-element decay switch, same length as `param` (1 = decay with this shard's weight decay,
   * 0 = none). Needed because an FSDP flat shard mixes 2-D weights with 1-D norm weights; see
   * `flatDecayMask`. Omitted = every element decays.
   */
  decayMask?: Uint8Array;
  /**
   * The same switch as ranges: `[start, end)` element ranges that decay, ascending and disjoint; every
   * other element does not. A few numbers where `decayMask` costs a byte per element (1.1 GB for a 1.1B
   * model); see `flatDecayRanges`. At most one of `decayMask` and `decayRanges`.
   */
  decayRanges?: readonly (readonly [number, number])[];
}

export interface AdamWOptions {
  /** Default learning rate, used when `step` is called without one. torch default 1e-3. */
  lr?: number;
  /** torch default [0.9, 0.999]; BioMed-LLaMA used [0.9, 0.95]. */
  betas?: [number, number];
  /** torch default 1e-8. */
  eps?: number;
  /** Decoupled weight decay; torch default 1e-2, BioMed-LLaMA used 0.1. */
  weightDecay?: number;
}

/** Optimizer state of one key: the same three things torch keeps per parameter. */
export interface AdamWKeyState {
  step: number;
  expAvg: Float32Array;
  expAvgSq: Float32Array;
}

export interface AdamWStateDict {
  kind: "AdamW";
  hyper: { lr: number; betas: [number, number]; eps: number; weightDecay: number };
  state: Record<string, AdamWKeyState>;
}

/**
 * AdamW with the arithmetic of torch 1.13 `_single_tensor_adamw` on CPU, op for op in float32:
 *
 *   p  = p * f32(1 - lr*wd)
 *   m  = fma(g, f32(1-b1), m * f32(b1))                 (torch's vectorised add_ uses fmadd)
 *   v  = fma(f32(1-b2) * g, g, v * f32(b2))             (addcmul_, contracted to an FMA by GCC)
 *   d  = sqrt(v) / f32(sqrt(1 - b2^t)) + f32(eps)
 *   p  = p + (f32(-lr / (1 - b1^t)) * m) / d            (addcdiv_)
 *
 * Scalars are formed in float64 exactly as Python does, then rounded to float32 as ATen does when
 * it dispatches a float32 kernel; every intermediate is rounded with Math.fround. A float32 FMA is
 * emulated as one float64 multiply-add (the product of two float32 values is exact in float64)
 * followed by a rounding to float32. Against torch 1.13's AVX2 CPU kernels this is bit-identical
 * (test/golden.test.ts); the FMA placement was found by comparing the two, since it depends on how
 * ATen was compiled rather than on the Python source.
 */
export class AdamW {
  readonly lr: number;
  readonly betas: [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  private readonly state = new Map<string, AdamWKeyState>();

  constructor(opts: AdamWOptions = {}) {
    this.lr = opts.lr ?? 1e-3;
    this.betas = opts.betas ?? [0.9, 0.999];
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 1e-2;
    checkHyper(this.lr, this.betas, this.eps, this.weightDecay);
  }

  /** One optimizer step over the given shards, in place. `lr` defaults to the constructor's. */
  step(params: readonly ParamShard[], lr: number = this.lr): void {
    if (!Number.isFinite(lr) || lr < 0)
      throw new OptimizerInputError(`AdamW.step: lr must be a finite number >= 0, got ${lr}`);
    const seen = new Set<string>();
    for (const shard of params) {
      if (seen.has(shard.key))
        throw new OptimizerInputError(`AdamW.step: key "${shard.key}" passed twice in one step`);
      seen.add(shard.key);
      this.stepShard(shard, lr);
    }
  }

  private stepShard(shard: ParamShard, lr: number): void {
    const { key, param, grad, decayMask } = shard;
    const n = param.length;
    if (grad.length !== n) {
      throw new OptimizerInputError(`AdamW.step: "${key}" grad has ${grad.length} elements, param has ${n}`);
    }
    if (decayMask !== undefined && decayMask.length !== n) {
      throw new OptimizerInputError(
        `AdamW.step: "${key}" decayMask has ${decayMask.length} elements, param has ${n}`,
      );
    }
    if (shard.decayRanges !== undefined) checkRanges(key, shard.decayRanges, n, decayMask !== undefined);
    const wd = shard.weightDecay ?? this.weightDecay;
    let s = this.state.get(key);
    if (s === undefined) {
      s = { step: 0, expAvg: new Float32Array(n), expAvgSq: new Float32Array(n) };
      this.state.set(key, s);
    } else if (s.expAvg.length !== n) {
      throw new OptimizerStateError(
        `AdamW.step: "${key}" has ${n} elements but its state has ${s.expAvg.length}`,
      );
    }
    s.step += 1;
    const [beta1, beta2] = this.betas;
    const t = s.step;
    const fr = Math.fround;
    // Python float64 scalar math, then the float32 cast ATen applies to scalar operands.
    const decay = fr(1 - lr * wd);
    const b1 = fr(beta1);
    const oneMinusB1 = fr(1 - beta1);
    const b2 = fr(beta2);
    const oneMinusB2 = fr(1 - beta2);
    const bc1 = 1 - beta1 ** t;
    const bc2Sqrt = fr(Math.sqrt(1 - beta2 ** t));
    const negStepSize = fr(-(lr / bc1));
    const eps = fr(this.eps);
    const k: KernelScalars = { decay, b1, oneMinusB1, b2, oneMinusB2, bc2Sqrt, negStepSize, eps };
    if (shard.decayRanges === undefined || decay === 1) {
      const mask = decayMask === undefined || decay === 1 ? null : decayMask;
      runKernel(param, grad, s.expAvg, s.expAvgSq, mask, k);
      return;
    }
    // segment by segment: a decaying range with this step's factor, the gaps between with none (×1
    // is exact, so this is bit for bit what the masked kernel does)
    const noDecay = { ...k, decay: 1 };
    const run = (a: number, b: number, kk: KernelScalars) => {
      if (a < b)
        runKernel(
          param.subarray(a, b),
          grad.subarray(a, b),
          s.expAvg.subarray(a, b),
          s.expAvgSq.subarray(a, b),
          null,
          kk,
        );
    };
    let at = 0;
    for (const [a, b] of shard.decayRanges) {
      run(at, a, noDecay);
      run(a, b, k);
      at = b;
    }
    run(at, n, noDecay);
  }

  /** The state of one key (live arrays, not copies), or undefined before its first step. */
  getState(key: string): AdamWKeyState | undefined {
    return this.state.get(key);
  }

  /** Replace the state of one key (copied), e.g. after re-sharding moments to another world size. */
  setState(key: string, s: AdamWKeyState): void {
    this.state.set(key, copyKeyState(key, s));
  }

  /** Keys that have state, in insertion order. */
  keys(): string[] {
    return [...this.state.keys()];
  }

  /** Deep copy of the state: hyper-parameters, and per key the step count and both moments. */
  stateDict(): AdamWStateDict {
    const state: Record<string, AdamWKeyState> = {};
    for (const [key, s] of this.state) state[key] = copyKeyState(key, s);
    return {
      kind: "AdamW",
      hyper: { lr: this.lr, betas: [...this.betas], eps: this.eps, weightDecay: this.weightDecay },
      state,
    };
  }

  /**
   * Replace all per-key state with a copy of `sd.state`. Hyper-parameters stay those of the
   * constructor (as with torch, the caller decides whether to rebuild with the saved ones).
   * Moments may arrive as plain number arrays (e.g. from JSON).
   */
  loadStateDict(sd: AdamWStateDict): void {
    if (sd === null || typeof sd !== "object" || sd.kind !== "AdamW" || typeof sd.state !== "object") {
      throw new OptimizerStateError(
        'AdamW.loadStateDict: not an AdamW state dict (expected kind "AdamW" and a state object)',
      );
    }
    const next = new Map<string, AdamWKeyState>();
    for (const [key, s] of Object.entries(sd.state)) next.set(key, copyKeyState(key, s));
    this.state.clear();
    for (const [key, s] of next) this.state.set(key, s);
  }
}

interface KernelScalars {
  decay: number;
  b1: number;
  oneMinusB1: number;
  b2: number;
  oneMinusB2: number;
  bc2Sqrt: number;
  negStepSize: number;
  eps: number;
}

// The two kernels differ only in the decay line; kept as separate loops because a per-element
// branch on the mask halves throughput in V8. The final store into a Float32Array performs the
// last float32 rounding (rounding a float64 sum of two float32 values to float32 is exact-safe).
function adamwKernel(
  param: Float32Array,
  grad: Float32Array,
  m: Float32Array,
  v: Float32Array,
  { decay, b1, oneMinusB1, b2, oneMinusB2, bc2Sqrt, negStepSize, eps }: KernelScalars,
): void {
  const fr = Math.fround;
  const n = param.length;
  for (let i = 0; i < n; i++) {
    const g = grad[i] as number;
    // g*oneMinusB1 is exact in float64 (24+24 bits), so one rounding of the sum then fround
    // emulates the fused multiply-add of torch's vectorised add_.
    const mi = fr(g * oneMinusB1 + fr((m[i] as number) * b1));
    const vi = fr(fr(oneMinusB2 * g) * g + fr((v[i] as number) * b2));
    m[i] = mi;
    v[i] = vi;
    const denom = fr(fr(fr(Math.sqrt(vi)) / bc2Sqrt) + eps);
    param[i] = fr((param[i] as number) * decay) + fr(fr(negStepSize * mi) / denom);
  }
}

function adamwKernelMasked(
  param: Float32Array,
  grad: Float32Array,
  m: Float32Array,
  v: Float32Array,
  mask: Uint8Array,
  { decay, b1, oneMinusB1, b2, oneMinusB2, bc2Sqrt, negStepSize, eps }: KernelScalars,
): void {
  const fr = Math.fround;
  const n = param.length;
  for (let i = 0; i < n; i++) {
    const g = grad[i] as number;
    const mi = fr(g * oneMinusB1 + fr((m[i] as number) * b1));
    const vi = fr(fr(oneMinusB2 * g) * g + fr((v[i] as number) * b2));
    m[i] = mi;
    v[i] = vi;
    const denom = fr(fr(fr(Math.sqrt(vi)) / bc2Sqrt) + eps);
    // Mask 0 behaves as torch with weight_decay=0: p * 1.0 = p.
    const p = mask[i] !== 0 ? fr((param[i] as number) * decay) : (param[i] as number);
    param[i] = p + fr(fr(negStepSize * mi) / denom);
  }
}

function copyKeyState(key: string, s: AdamWKeyState): AdamWKeyState {
  if (s === null || typeof s !== "object" || !Number.isInteger(s.step) || s.step < 0) {
    throw new OptimizerStateError(`AdamW state "${key}": field "step" must be an integer >= 0`);
  }
  if (!isNumberArray(s.expAvg) || !isNumberArray(s.expAvgSq)) {
    throw new OptimizerStateError(
      `AdamW state "${key}": fields "expAvg" and "expAvgSq" must be number arrays`,
    );
  }
  if (s.expAvg.length !== s.expAvgSq.length) {
    throw new OptimizerStateError(
      `AdamW state "${key}": expAvg has ${s.expAvg.length} elements, expAvgSq has ${s.expAvgSq.length}`,
    );
  }
  return { step: s.step, expAvg: Float32Array.from(s.expAvg), expAvgSq: Float32Array.from(s.expAvgSq) };
}

function isNumberArray(a: unknown): a is ArrayLike<number> {
  return a instanceof Float32Array || a instanceof Float64Array || Array.isArray(a);
}

function checkHyper(lr: number, betas: [number, number], eps: number, wd: number): void {
  if (!Number.isFinite(lr) || lr < 0) throw new OptimizerInputError(`AdamW: lr must be >= 0, got ${lr}`);
  const [b1, b2] = betas;
  if (!(b1 >= 0 && b1 < 1)) throw new OptimizerInputError(`AdamW: betas[0] must be in [0, 1), got ${b1}`);
  if (!(b2 >= 0 && b2 < 1)) throw new OptimizerInputError(`AdamW: betas[1] must be in [0, 1), got ${b2}`);
  if (!(eps >= 0)) throw new OptimizerInputError(`AdamW: eps must be >= 0, got ${eps}`);
  if (!(wd >= 0)) throw new OptimizerInputError(`AdamW: weightDecay must be >= 0, got ${wd}`);
}

function checkRanges(
  key: string,
  ranges: readonly (readonly [number, number])[],
  n: number,
  withMask: boolean,
): void {
  if (withMask) throw new OptimizerInputError(`AdamW.step: "${key}" has both decayMask and decayRanges`);
  let at = 0;
  for (const [a, b] of ranges)
    if (!Number.isInteger(a) || !Number.isInteger(b) || a < at || b < a || b > n)
      throw new OptimizerInputError(
        `AdamW.step: "${key}" decayRanges [${a}, ${b}) is not ascending, disjoint and inside 0..${n}`,
      );
    else at = b;
}

/** The multi-threaded C loop where it is loaded and worth it, else the JS kernels (same roundings). */
function runKernel(
  param: Float32Array,
  grad: Float32Array,
  expAvg: Float32Array,
  expAvgSq: Float32Array,
  mask: Uint8Array | null,
  k: KernelScalars,
): void {
  const native = param.length >= NATIVE_MIN ? nativeAdamW() : null;
  if (native)
    // src/native/optim.c of native-backend: the same operations and roundings
    native(
      param,
      grad,
      expAvg,
      expAvgSq,
      mask,
      k.decay,
      k.b1,
      k.oneMinusB1,
      k.b2,
      k.oneMinusB2,
      k.bc2Sqrt,
      k.negStepSize,
      k.eps,
    );
  else if (mask === null) adamwKernel(param, grad, expAvg, expAvgSq, k);
  else adamwKernelMasked(param, grad, expAvg, expAvgSq, mask, k);
}
