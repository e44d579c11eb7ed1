// Kernel conformance: a backend (the subject) against tfjs's "cpu" backend (the reference) on the kernels
// a LLaMA forward/backward, AdamW and the evaluator use, on seeded random inputs (size-0 and size-1
// dims, NaN / ±Inf / ±0 / denormals in float inputs, int32 extremes in int inputs). A case fails when
// the subject differs from cpu; where cpu throws, the subject must throw the same message (and, given a
// memory probe, hold no more memory than before the case). A subject may carry a policy: a wider bound
// for float32 outputs (a GPU's arithmetic is not IEEE-exact) and a list of documented differences,
// which are collected instead of failing, and which must each still occur (the list stays honest).
// Optionally every case is also run on the "wasm" backend (@tensorflow/tfjs-backend-wasm) where wasm
// has the kernels, and compared with cpu the same way; wasm differs from cpu in many places itself
// (NaN, subnormals, int32 overflow, empty reductions, ...), so its differences are collected and the
// "wasm" test checks them against the documented list (KNOWN_WASM_DIFFS) instead of failing cases.
//
// Tolerances (per output element; NaN must meet NaN and ±Inf the same infinity in every mode):
//  - EXACT: data movement, integer and bool kernels, comparisons, casts, and float32 math that is
//    correctly rounded on both sides (cpu computes + − × ÷ √ of float32 operands in double and rounds
//    once, which gives the float32 result bit for bit), and reductions that both backends accumulate in
//    double in the same order (Sum, Prod, Max, Min). +0 and −0 compare equal.
//  - ulps(n): |subject − cpu| ≤ n float32 ulps of |cpu| (n ≤ 4, i.e. ≤ 5e-7 relative): transcendental
//    functions (cpu: double Math.* rounded once; native: float32 libm or the addon's own exp, ≤ 2 ulps).
//    Erf alone adds an absolute 1.5e-7: cpu's erf is an approximation with that error bound (native's
//    is checked against an accurate erf separately).
//  - ulps(n) with a scale: n ulps of max(|cpu|, scale), where scale bounds the magnitude of the terms
//    that were summed (Σ|a||b| for matmul, mean |x| for Mean, max |x| for log-sum-exp); this is the
//    standard forward-error bound of a sum, which a relative bound on a cancelling result cannot meet.
//    Some exact cases carry a scale too (Σ|x| for Sum, ...): it is used only where a subject's policy
//    widens the bound (and computed only then).
//  - Gradients: exact where only data movement and sums in the same order are involved, else 8·(K + 2)
//    ulps of the largest |gradient| of the tensor (a chain of a few K-term float32 dot products).
// A policy's bound applies to float32 outputs only; int32 and bool outputs are always held to the case's
// own tolerance.
//
// Every read is `await t.data()`: a GPU backend cannot read synchronously in Node.
import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { describeDiff, EXACT, type Fn, maxTol, type Out, type Tol, ulps, within } from "./compare.js";
import {
  BROADCAST_PATTERNS,
  bools,
  broadcastPair,
  type DT,
  floats,
  INT32_EDGE,
  ints,
  NONFINITE,
  Rng,
  randShape,
  sizeOf,
  values,
} from "./inputs.js";
import { KNOWN_WASM_DIFFS } from "./wasm-diffs.js";

/** What a subject's policy is asked about one case. */
export interface CaseInfo {
  /** The case's label, e.g. "Add [3,4] ∘ [4]" (unique within the suite). */
  label: string;
  /** The label's first word: the kernel, composite ("logSoftmax") or gradient ("grad:attention"). */
  kernel: string;
  /** The case's own tolerance (what native is held to). */
  tol: Tol;
  /** The most float32 terms one output sums (a reduction's length, matmul's K, ...); 1 for elementwise. */
  terms: number;
}

/** A documented difference: the reason (covering labels that start with its name), or labels and reason. */
export type KnownDiff = string | { labels: RegExp; reason: string };

/** How a subject that is not IEEE-exact is judged. */
export interface ConformancePolicy {
  /**
   * The bound for the case's float32 outputs, where looser than the case's own: the case is held to
   * the looser of the two, bound by bound. undefined: the case's own.
   */
  tolerance?(c: CaseInfo): Tol | undefined;
  /**
   * Documented differences from cpu beyond the bound, by name → why. An entry given as a string covers
   * the cases whose label starts with its name (whole words: "Add int32" covers "Add int32 [3] ∘ [3]",
   * not "AddN int32"); one given as { labels, reason } covers the cases whose label matches `labels`.
   * A matching difference is collected instead of failing its case; a difference that matches none
   * fails its case; an entry that matched no difference in the run fails the suite's "documented
   * differences" test.
   */
  knownDiffs?: Record<string, KnownDiff>;
}

export interface ConformanceSubject {
  /** The backend under test, as registered with tfjs ("native", "webgpu"). */
  backend: string;
  /** false: the whole suite is skipped (e.g. the backend cannot load here). Default true. */
  available?: boolean;
  /** Registers the backend (once, before any case); the suite then checks it can be selected. */
  setup(): Promise<void>;
  /** Called after each time the suite selects the subject backend (e.g. to set tf.env flags). */
  onSelect?(): void;
  /** Bytes the backend holds outside JS: unchanged by a case where cpu and the subject throw. */
  memoryBytes?(): number;
  policy?: ConformancePolicy;
  /**
   * Run every case on "wasm" too, as a second opinion (its differences from cpu are checked against
   * KNOWN_WASM_DIFFS). `load` imports @tensorflow/tfjs-backend-wasm (the caller's dependency).
   */
  wasm?: { load(): Promise<unknown> };
  /**
   * Run a seeded subset of the cases: each case is kept with probability `fraction`, decided by a hash
   * of its label and `seed` (the same cases every run), and always where its label matches `always`.
   */
  subset?: { fraction: number; seed: number; always?: RegExp };
  /** Also check Erf against an accurate erf (within 2 ulps, not cpu's approximation). */
  accurateErf?: boolean;
  /** More tests, defined inside the suite's describe after the shared ones. */
  extraTests?(): void;
}

/** What a finished run did (read in a test after the cases). */
export interface ConformanceStats {
  /** Cases run on the subject. */
  cases: number;
  /** Of those, cases where cpu threw. */
  throws: number;
  /** Cases left out by `subset`. */
  skipped: number;
  /** Cases also compared on wasm. */
  wasmCompared: number;
  /** Documented differences seen: known-diff key → the first difference it matched. */
  knownSeen: Map<string, string>;
}

/** 32-bit FNV-1a of `s`, mixed with `seed`: the subset's coin. */
function hash(s: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d) >>> 0;
  h ^= h >>> 12;
  return (h >>> 0) / 4294967296;
}

/**
 * The entry of `known` that `label` falls under, or null: the first entry with a `labels` pattern that
 * matches, else the longest name that is a prefix of the label ending at a word.
 */
export function matchKnown(known: Record<string, KnownDiff>, label: string): string | null {
  let best: string | null = null;
  for (const [k, v] of Object.entries(known)) {
    if (typeof v !== "string") {
      if (v.labels.test(label)) return k;
    } else if ((label === k || label.startsWith(`${k} `)) && (best === null || k.length > best.length))
      best = k;
  }
  return best;
}

const reasonOf = (d: KnownDiff) => (typeof d === "string" ? d : d.reason);

interface CaseOpts {
  /** Per-output magnitudes for the scaled ulps bound, computed on cpu. */
  scale?: Fn;
  /** The kernels the case needs on wasm (it is not run there without them); default: the label's first word. */
  kernels?: string[];
  /** Why the case is not run on wasm at all. */
  noWasm?: string;
  /** What cpu runs instead of `fn`, where the cpu kernel is wrong for `fn` itself (said where used). */
  reference?: Fn;
  /** The most terms one output sums (for a policy's bound on a reduction); default 1. */
  terms?: number;
}

const tensor = (v: Float32Array | Int32Array | Uint8Array, shape: number[], dtype: DT) =>
  tf.tensor(v, shape, dtype);

/** How many elements of `shape` one output of a reduction over `axis` (all axes if undefined) reads. */
function reducedSize(shape: number[], axis?: number | number[]): number {
  if (axis === undefined) return sizeOf(shape);
  const axes = (Array.isArray(axis) ? axis : [axis]).map((a) => (a < 0 ? shape.length + a : a));
  return [...new Set(axes)].reduce((n, a) => n * shape[a], 1);
}

/**
 * Defines the conformance suite (vitest describe / test) for `subject`; returns the run's statistics,
 * filled in as the cases run.
 */
export function defineConformanceSuite(subject: ConformanceSubject): ConformanceStats {
  const B = subject.backend;
  const policy = subject.policy;
  const stats: ConformanceStats = { cases: 0, throws: 0, skipped: 0, wasmCompared: 0, knownSeen: new Map() };
  let wasmReady = false;
  let wasmKernels = new Set<string>();
  /** wasm-vs-cpu differences seen, by kernel: the first example of each. */
  const wasmDiffs = new Map<string, string>();

  async function select(backend: string): Promise<void> {
    if (tf.getBackend() !== backend) await tf.setBackend(backend);
    if (backend === B) subject.onSelect?.();
  }

  async function evaluate(backend: string, fn: Fn): Promise<Out[] | Error> {
    await select(backend);
    let outs: tf.Tensor[];
    try {
      outs = tf.tidy(() => {
        const r = fn();
        return Array.isArray(r) ? r : [r];
      });
    } catch (e) {
      return e as Error;
    }
    try {
      const res: Out[] = [];
      for (const t of outs)
        res.push({ shape: t.shape, dtype: t.dtype, values: (await t.data()) as ArrayLike<number> });
      return res;
    } catch (e) {
      return e as Error;
    } finally {
      tf.dispose(outs);
    }
  }

  const memoryBytes = () => subject.memoryBytes?.() ?? 0;

  /**
   * Runs `fn` on cpu and the subject and fails unless the subject matches cpu (within the case's
   * tolerance, widened for float32 outputs by the subject's policy) or the difference is documented;
   * when cpu throws, the subject must throw the same message (and not leak memory). Then, for a subject
   * with the wasm second opinion, runs it on wasm and records any difference from cpu.
   */
  async function check(label: string, tol: Tol, fn: Fn, opts: CaseOpts = {}): Promise<void> {
    const key = label.split(" ")[0];
    const sub = subject.subset;
    if (sub && !(sub.always?.test(label) ?? false) && hash(label, sub.seed) >= sub.fraction) {
      stats.skipped++;
      return;
    }
    stats.cases++;
    const wide = policy?.tolerance?.({ label, kernel: key, tol, terms: opts.terms ?? 1 });
    const floatTol = wide ? maxTol(tol, wide) : tol;
    const want = await evaluate("cpu", opts.reference ?? fn);
    // The scale matters only to a bound that is not exact, and only where cpu has a result.
    const scale =
      opts.scale && floatTol.ulps > 0 && !(want instanceof Error)
        ? await evaluate("cpu", opts.scale)
        : undefined;
    if (scale instanceof Error) throw scale;
    const bytes = memoryBytes();
    const got = await evaluate(B, fn);
    let diff: string | null;
    if (want instanceof Error) {
      stats.throws++;
      if (process.env.CONFORMANCE_DEBUG) console.log(`${label}: cpu throws ${want.message}`);
      if (!(got instanceof Error)) diff = `${label}: cpu throws "${want.message}", ${B} does not`;
      else {
        expect(memoryBytes(), `${label}: ${B} memory after the throw`).toBe(bytes);
        diff =
          got.message === want.message
            ? null
            : `${label}: ${B} throws "${got.message}", cpu "${want.message}"`;
      }
    } else if (got instanceof Error) diff = `${label}: ${B} throws "${got.message}", cpu does not`;
    else diff = describeDiff(`${label} [${B}]`, got, want, tol, scale, floatTol);
    if (diff) {
      const known = policy?.knownDiffs ? matchKnown(policy.knownDiffs, label) : null;
      if (!known) throw new Error(diff);
      if (process.env.CONFORMANCE_DEBUG) console.log(`known (${known}): ${diff}`);
      if (!stats.knownSeen.has(known)) stats.knownSeen.set(known, diff);
    }
    if (want instanceof Error) return;

    if (!wasmReady || opts.noWasm || (opts.kernels ?? [key]).some((k) => !wasmKernels.has(k))) return;
    stats.wasmCompared++;
    const w = await evaluate("wasm", fn);
    const wdiff =
      w instanceof Error
        ? `${label}: wasm throws "${w.message}"`
        : describeDiff(`${label} [wasm]`, w, want, tol, scale);
    if (wdiff && process.env.CONFORMANCE_DEBUG) console.log(wdiff); // every wasm difference, not just the first
    if (wdiff && !wasmDiffs.has(key)) wasmDiffs.set(key, wdiff);
  }

  describe.runIf(subject.available ?? true)(`${B} backend conformance (cpu is the reference)`, () => {
    beforeAll(async () => {
      if (subject.wasm)
        try {
          await subject.wasm.load();
          wasmReady = await tf.setBackend("wasm");
          wasmKernels = new Set(tf.getKernelsForBackend("wasm").map((k) => k.kernelName));
        } catch {
          wasmReady = false;
        }
      await subject.setup();
      expect(await tf.setBackend(B)).toBe(true);
      subject.onSelect?.();
      expect(await tf.setBackend("cpu")).toBe(true);
    });
    afterAll(() => {
      const parts = [`${stats.cases} cases run (${stats.throws} where cpu throws)`];
      if (stats.skipped) parts.push(`${stats.skipped} left out by the subset`);
      if (subject.wasm) parts.push(`${stats.wasmCompared} also on wasm`);
      if (policy?.knownDiffs) parts.push(`${stats.knownSeen.size} documented differences seen`);
      console.log(`[conformance] ${B}: ${parts.join(", ")}`);
    });

    describe("elementwise binary", () => {
      // Correctly rounded on both sides → exact; Pow / Atan2 / SquaredDifference (two roundings natively)
      // within 2 ulps. FloorDiv on float32 has an int32 output on cpu (its kernel casts), Mod follows
      // JavaScript's % on doubles.
      const FLOAT_OPS: [string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor, Tol][] = [
        ["Add", tf.add, EXACT],
        ["Sub", tf.sub, EXACT],
        ["Multiply", tf.mul, EXACT],
        ["RealDiv", tf.div, EXACT],
        ["Maximum", tf.maximum, EXACT],
        ["Minimum", tf.minimum, EXACT],
        ["Pow", tf.pow, ulps(2)],
        ["SquaredDifference", tf.squaredDifference, ulps(2)],
        ["FloorDiv", tf.floorDiv, EXACT],
        ["Mod", tf.mod, EXACT],
        ["Atan2", tf.atan2, ulps(2)],
      ];
      for (const [name, op, tol] of FLOAT_OPS)
        test(`${name} float32: broadcasting (scalar, row, column, middle axis, rank 0..5), NaN/Inf`, async () => {
          const rng = new Rng(1000 + name.length * 31 + name.charCodeAt(0));
          const pairs = [...BROADCAST_PATTERNS];
          for (let i = 0; i < 24; i++) pairs.push(broadcastPair(rng, i % 6));
          for (const [sa, sb] of pairs) {
            const a = floats(rng, sizeOf(sa));
            // Pow: half of the exponents whole numbers, so negative bases give numbers, not only NaN.
            const b =
              name === "Pow"
                ? floats(rng, sizeOf(sb)).map((v) =>
                    rng.next() < 0.5 && Number.isFinite(v) ? Math.round(v) : v,
                  )
                : floats(rng, sizeOf(sb));
            await check(
              `${name} [${sa}] ∘ [${sb}]`,
              tol,
              () => op(tensor(a, sa, "float32"), tensor(b, sb, "float32")),
              {
                kernels: [name],
              },
            );
          }
        });

      const INT_OPS: [string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor][] = [
        ["Add", tf.add],
        ["Sub", tf.sub],
        ["Multiply", tf.mul],
        ["Maximum", tf.maximum],
        ["Minimum", tf.minimum],
        ["FloorDiv", tf.floorDiv],
        ["Mod", tf.mod],
        ["Pow", tf.pow],
        ["SquaredDifference", tf.squaredDifference],
      ];
      for (const [name, op] of INT_OPS)
        test(`${name} int32: int32 extremes (wrap-around as JavaScript's Int32Array stores it), broadcasting`, async () => {
          const rng = new Rng(2000 + name.charCodeAt(0) + name.length);
          const pairs = [...BROADCAST_PATTERNS];
          for (let i = 0; i < 16; i++) pairs.push(broadcastPair(rng, i % 6));
          // Every pair of edge values, once.
          const all = INT32_EDGE.flatMap((x) => INT32_EDGE.map((y) => [x, y]));
          const ea = Int32Array.from(all.map((p) => p[0]));
          const eb = Int32Array.from(all.map((p) => p[1]));
          // wasm traps on x % 0 and INT32_MIN % -1 (its heap is unusable afterwards): not run there.
          const noWasm = name === "Mod" ? "wasm traps on an int32 remainder by 0" : undefined;
          await check(
            `${name} int32 edge pairs`,
            EXACT,
            () => op(tensor(ea, [ea.length], "int32"), tensor(eb, [eb.length], "int32")),
            { noWasm },
          );
          for (const [sa, sb] of pairs) {
            const a = ints(rng, sizeOf(sa));
            const b = ints(rng, sizeOf(sb));
            await check(
              `${name} int32 [${sa}] ∘ [${sb}]`,
              EXACT,
              () => op(tensor(a, sa, "int32"), tensor(b, sb, "int32")),
              { noWasm },
            );
          }
        });

      test("int32 division (tf.div → FloorDiv) by zero and by -1 at the extremes", async () => {
        const a = Int32Array.from([7, -7, 0, -2147483648, 2147483647, -2147483648, 5, -5]);
        const b = Int32Array.from([0, 0, 0, -1, -1, 1, -2, 2]);
        await check("FloorDiv int32 (tf.div)", EXACT, () =>
          tf.div(tensor(a, [8], "int32"), tensor(b, [8], "int32")),
        );
        await check("Mod int32", EXACT, () => tf.mod(tensor(a, [8], "int32"), tensor(b, [8], "int32")), {
          noWasm: "wasm traps on an int32 remainder by 0",
        });
      });

      const CMP: [string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor][] = [
        ["Less", tf.less],
        ["LessEqual", tf.lessEqual],
        ["Greater", tf.greater],
        ["GreaterEqual", tf.greaterEqual],
        ["Equal", tf.equal],
        ["NotEqual", tf.notEqual],
      ];
      for (const [name, op] of CMP)
        test(`${name}: float32 (NaN, ±Inf, ±0), int32 extremes, bool; broadcasting`, async () => {
          const rng = new Rng(3000 + name.charCodeAt(0) * 7 + name.length);
          const pairs = [...BROADCAST_PATTERNS];
          for (let i = 0; i < 12; i++) pairs.push(broadcastPair(rng, i % 6));
          for (const dtype of ["float32", "int32", "bool"] as const)
            for (const [sa, sb] of pairs) {
              // Small value sets so equal values are common.
              const a =
                dtype === "float32"
                  ? floats(rng, sizeOf(sa), { special: 0.4, specials: NONFINITE, lo: -2, hi: 2 }).map(
                      Math.round,
                    )
                  : values(rng, dtype, sa);
              const b =
                dtype === "float32"
                  ? floats(rng, sizeOf(sb), { special: 0.4, specials: NONFINITE, lo: -2, hi: 2 }).map(
                      Math.round,
                    )
                  : values(rng, dtype, sb);
              await check(`${name} ${dtype} [${sa}] ∘ [${sb}]`, EXACT, () =>
                op(tensor(a, sa, dtype), tensor(b, sb, dtype)),
              );
            }
        });
    });

    describe("elementwise unary", () => {
      // libm functions: cpu is Math.* in double rounded once, native is glibc's float32 function (≤ 1 ulp
      // from the exact result each) → 2 ulps; sigmoid / softplus are two or three float32 steps → 3 ulps.
      // Erf: cpu uses Abramowitz & Stegun 7.1.26 (absolute error ≤ 1.5e-7), so against cpu an absolute
      // 1.5e-7 on top of 2 ulps; native is also checked against an accurate erf (2 ulps) below.
      const UNARY: [string, (x: tf.Tensor) => tf.Tensor, Tol][] = [
        ["Neg", tf.neg, EXACT],
        ["Exp", tf.exp, ulps(2)],
        ["Log", tf.log, ulps(2)],
        ["Sqrt", tf.sqrt, EXACT],
        ["Rsqrt", tf.rsqrt, ulps(2)],
        ["Sigmoid", tf.sigmoid, ulps(3)],
        ["Square", tf.square, EXACT],
        ["Abs", tf.abs, EXACT],
        ["Relu", tf.relu, EXACT],
        ["Tanh", tf.tanh, ulps(2)],
        ["Reciprocal", tf.reciprocal, EXACT],
        ["Sign", tf.sign, EXACT],
        ["Floor", tf.floor, EXACT],
        ["Ceil", tf.ceil, EXACT],
        ["Round", tf.round, EXACT],
        ["Sin", tf.sin, ulps(2)],
        ["Cos", tf.cos, ulps(2)],
        ["Log1p", tf.log1p, ulps(2)],
        ["Expm1", tf.expm1, ulps(2)],
        ["Softplus", tf.softplus, ulps(3)],
        ["Erf", tf.erf, ulps(2, 1.5e-7)],
        ["Step", (x) => tf.step(x, 0.25), EXACT],
        ["Step0", (x) => tf.step(x), EXACT],
        ["IsNan", tf.isNaN, EXACT],
        ["IsInf", tf.isInf, EXACT],
        ["IsFinite", tf.isFinite, EXACT],
      ];
      for (const [name, op, tol] of UNARY)
        test(`${name}: random, specials, size 0/1, rank 0..5, large (threaded)`, async () => {
          const rng = new Rng(4000 + name.charCodeAt(0) * 13 + name.length);
          const shapes = [[], [0], [1], [3, 0, 2], [7], [2, 3], [2, 1, 3, 2], [1, 2, 3, 1, 2], [200, 101]];
          for (const shape of shapes)
            for (const range of [4, 20, 120]) {
              const x = floats(rng, sizeOf(shape), { lo: -range, hi: range, special: 0.12 });
              // Halves and whole numbers, for Round / Floor / Ceil / Sign ties.
              for (let i = 0; i < x.length; i += 5) x[i] = Math.round(x[i] * 2) / 2;
              await check(`${name} [${shape}] ±${range}`, tol, () => op(tensor(x, shape, "float32")), {
                kernels: [name.replace(/0$/, "")],
              });
            }
          // Around the thresholds of softplus / sigmoid / expm1 / log1p.
          const edges = Float32Array.from([
            -16, -15, -14, -13.9, -13, -9, -1e-3, -1e-7, 1e-7, 1e-3, 9, 13, 13.9, 14, 15, 16,
          ]);
          const around = Float32Array.from([
            -104, -100, -89, -88, 88, 89, 1e-20, -1e-20, 0.49999997, 2.5, -2.5, 3.5,
          ]);
          await check(`${name} edges`, tol, () => op(tf.concat([tf.tensor(edges), tf.tensor(around)])), {
            kernels: [name.replace(/0$/, "")],
          });
        });

      test("unary ops on int32 (handed to the cpu kernels)", async () => {
        const x = Int32Array.from([-2147483648, -5, -1, 0, 1, 7, 2147483647]);
        for (const [name, op] of [
          ["Neg", tf.neg],
          ["Abs", tf.abs],
          ["Square", tf.square],
          ["Relu", tf.relu],
          ["Sign", tf.sign],
        ] as const)
          await check(`${name} int32`, EXACT, () => op(tensor(x, [7], "int32")));
      });

      test.runIf(subject.accurateErf ?? false)("Erf against an accurate erf: 2 ulps", async () => {
        // erf by its Maclaurin series in double: for |x| ≤ 4 the largest term is < 1e7, so the sum keeps
        // ≥ 9 correct digits; beyond 4, erf rounds to ±1 in float32.
        const erf = (x: number) => {
          if (Math.abs(x) > 4) return Math.sign(x);
          let term = x;
          let sum = x;
          for (let n = 1; n < 200; n++) {
            term *= (-x * x) / n;
            const t = term / (2 * n + 1);
            sum += t;
            if (Math.abs(t) < 1e-17 * Math.abs(sum)) break;
          }
          return (2 / Math.sqrt(Math.PI)) * sum;
        };
        const rng = new Rng(4242);
        const x = floats(rng, 4000, { lo: -5, hi: 5, special: 0 });
        for (let i = 0; i < 200; i++) x[i] = (rng.next() - 0.5) * 1e-3;
        await select(B);
        const e = tf.tidy(() => tf.erf(tf.tensor(x)));
        const got = await e.data();
        e.dispose();
        for (let i = 0; i < x.length; i++) {
          const want = Math.fround(erf(x[i]));
          if (!within(got[i], want, ulps(2), 0))
            throw new Error(`erf(${x[i]}) = ${got[i]}, accurate ${want}`);
        }
      });
    });

    describe("cast, select, fill, addN", () => {
      test("Cast: every pair of float32 / int32 / bool, with NaN, ±Inf, out-of-int32-range floats", async () => {
        const f = Float32Array.from([
          Number.NaN,
          Number.POSITIVE_INFINITY,
          Number.NEGATIVE_INFINITY,
          0,
          -0,
          0.9,
          -0.9,
          1.5,
          -1.5,
          2147483520,
          -2147483648,
          2147483648,
          3e9,
          -3e9,
          1e20,
          -1e20,
          1e-40,
          16777217,
        ]);
        const i = Int32Array.from(INT32_EDGE);
        const b = Uint8Array.from([0, 1, 1, 0, 1]);
        const inputs: [DT, Float32Array | Int32Array | Uint8Array][] = [
          ["float32", f],
          ["int32", i],
          ["bool", b],
        ];
        const rng = new Rng(5000);
        for (const [from, v] of inputs)
          for (const to of ["float32", "int32", "bool"] as const) {
            await check(`Cast ${from} → ${to}`, EXACT, () => tf.cast(tensor(v, [v.length], from), to));
            const shape = [3, 0, 2];
            await check(`Cast ${from} → ${to} size 0`, EXACT, () =>
              tf.cast(tensor(values(rng, from, shape), shape, from), to),
            );
            const big = [150, 120];
            const bv = values(rng, from, big, { lo: -5e9, hi: 5e9 });
            await check(`Cast ${from} → ${to} large`, EXACT, () => tf.cast(tensor(bv, big, from), to));
          }
      });

      test("Select (tf.where): same shape, broadcast condition, float32 / int32 / bool values", async () => {
        const rng = new Rng(5100);
        const cases: [number[], number[]][] = [
          [[], []],
          [[5], [5]],
          [
            [3, 4],
            [3, 4],
          ],
          [
            [3, 1],
            [3, 4],
          ],
          [[4], [3, 4]],
          [[], [2, 3]],
          [
            [0, 3],
            [0, 3],
          ],
          [
            [2, 1, 3],
            [2, 4, 3],
          ],
          [
            [200, 100],
            [200, 100],
          ],
        ];
        for (const dtype of ["float32", "int32", "bool"] as const)
          for (const [sc, sx] of cases) {
            const c = bools(rng, sizeOf(sc));
            const a = values(rng, dtype, sx);
            const b = values(rng, dtype, sx);
            await check(
              `Select ${dtype} cond [${sc}] x [${sx}]`,
              EXACT,
              () => tf.where(tensor(c, sc, "bool"), tensor(a, sx, dtype), tensor(b, sx, dtype)),
              // wasm's Select on bool values writes outside its output (its heap is unusable afterwards).
              { noWasm: dtype === "bool" ? "wasm Select corrupts memory on bool values" : undefined },
            );
          }
      });

      test("Fill / ZerosLike / OnesLike for every dtype and shape", async () => {
        const rng = new Rng(5200);
        for (const shape of [[], [0], [1], [3, 0], [2, 3, 4], [300, 70]]) {
          for (const [v, dtype] of [
            [1.5, "float32"],
            [-0, "float32"],
            [Number.NaN, "float32"],
            [Number.NEGATIVE_INFINITY, "float32"],
            [7, "int32"],
            [-2147483648, "int32"],
            [1, "bool"],
            [0, "bool"],
          ] as const)
            await check(`Fill [${shape}] ${v} ${dtype}`, EXACT, () => tf.fill(shape, v, dtype));
          for (const dtype of ["float32", "int32", "bool"] as const) {
            const x = values(rng, dtype, shape);
            await check(`ZerosLike [${shape}] ${dtype}`, EXACT, () => tf.zerosLike(tensor(x, shape, dtype)));
            await check(`OnesLike [${shape}] ${dtype}`, EXACT, () => tf.onesLike(tensor(x, shape, dtype)));
          }
        }
      });

      test("AddN: 1..6 tensors, float32 (float32 sums in order on both sides: exact) and int32", async () => {
        const rng = new Rng(5300);
        for (const shape of [[], [0, 2], [5], [3, 4], [2, 3, 4], [130, 140]])
          for (let n = 1; n <= 6; n++)
            for (const dtype of ["float32", "int32"] as const) {
              const xs = Array.from({ length: n }, () => values(rng, dtype, shape));
              await check(
                `AddN ${n} x [${shape}] ${dtype}`,
                EXACT,
                () => tf.addN(xs.map((v) => tensor(v, shape, dtype))),
                { scale: () => tf.addN(xs.map((v) => tf.abs(tensor(v, shape, dtype)))), terms: n },
              );
            }
      });
    });

    describe("reductions", () => {
      // Sum, Prod (double accumulators), Max, Min, All, Any: exact, both backends reduce in the same order.
      // Mean: cpu divides each element by n before summing, native sums then divides: 2 ulps of mean |x|.
      const axisCases = (rank: number): (number | number[] | undefined)[] => {
        const c: (number | number[] | undefined)[] = [undefined];
        if (rank === 0) return c;
        c.push(0, -1, rank - 1);
        if (rank >= 2) c.push([0, 1], [rank - 2, rank - 1], [-1, 0]);
        if (rank >= 3) c.push(1, [0, 2], [1, 2], [2, 1], [2, 0], [0, 1, 2]);
        if (rank >= 4) c.push([1, 3], [0, 2, 3], [1, 2]);
        if (rank >= 5) c.push([0, 2, 4], [1, 2, 3]);
        return c;
      };
      const SHAPES = [
        [],
        [0],
        [1],
        [5],
        [3, 0],
        [0, 3],
        [3, 4],
        [1, 4],
        [2, 3, 4],
        [2, 0, 3],
        [2, 1, 3, 2],
        [2, 3, 1, 2, 3],
      ];
      const FLOAT_RED: [string, (x: tf.Tensor, axis?: number | number[], keep?: boolean) => tf.Tensor][] = [
        ["Sum", tf.sum],
        ["Mean", tf.mean],
        ["Max", tf.max],
        ["Min", tf.min],
        ["Prod", tf.prod],
      ];
      for (const [name, op] of FLOAT_RED)
        test(`${name}: single, contiguous, non-contiguous and all axes, keepDims; float32 and int32`, async () => {
          const rng = new Rng(6000 + name.charCodeAt(0) * 3 + name.length);
          for (const shape of [...SHAPES, [140, 130], [3, 90, 70]])
            for (const axis of axisCases(shape.length))
              for (const keep of [false, true])
                for (const dtype of ["float32", "int32"] as const) {
                  // Prod on float: values near 1 so products stay finite; specials still in.
                  const x =
                    dtype === "float32"
                      ? floats(rng, sizeOf(shape), name === "Prod" ? { lo: 0.5, hi: 1.5 } : {})
                      : ints(rng, sizeOf(shape), -9, 9, name === "Prod" || sizeOf(shape) < 100 ? 0.15 : 0);
                  const tol = name === "Mean" && dtype === "float32" ? ulps(2) : EXACT;
                  const label = `${name} ${dtype} [${shape}] axis ${JSON.stringify(axis)} keepDims ${keep}`;
                  // Sum's scale (Σ|x|) is for a policy's bound only: Sum itself is exact here.
                  const abs = () => tf.abs(tensor(x, shape, dtype));
                  await check(label, tol, () => op(tensor(x, shape, dtype), axis, keep), {
                    scale:
                      name === "Mean"
                        ? () => tf.mean(abs(), axis, keep)
                        : name === "Sum"
                          ? () => tf.sum(abs(), axis, keep)
                          : undefined,
                    kernels: [name],
                    terms: reducedSize(shape, axis),
                  });
                }
        });

      for (const [name, op] of [
        ["All", tf.all],
        ["Any", tf.any],
      ] as const)
        test(`${name}: bool, axis variants, keepDims, empty axes`, async () => {
          const rng = new Rng(6100 + name.charCodeAt(1));
          for (const shape of [...SHAPES, [140, 130]])
            for (const axis of axisCases(shape.length))
              for (const keep of [false, true]) {
                // Mostly-true (All) / mostly-false (Any) inputs so both outcomes occur.
                const x = bools(rng, sizeOf(shape)).map((v) =>
                  rng.next() < 0.8 ? (name === "All" ? 1 : 0) : v,
                );
                await check(`${name} [${shape}] axis ${JSON.stringify(axis)} keepDims ${keep}`, EXACT, () =>
                  op(tensor(x, shape, "bool"), axis, keep),
                );
              }
        });

      for (const [name, op] of [
        ["ArgMax", tf.argMax],
        ["ArgMin", tf.argMin],
      ] as const)
        test(`${name}: every axis, ties, NaN first / later in a row, ±Inf, int32`, async () => {
          const rng = new Rng(6200 + name.charCodeAt(4));
          for (const shape of [[1], [6], [3, 4], [4, 1], [2, 3, 4], [2, 3, 1, 5], [2, 0, 3], [300, 70]])
            for (let axis = -1; axis < shape.length; axis++)
              for (const dtype of ["float32", "int32"] as const) {
                const x =
                  dtype === "float32"
                    ? floats(rng, sizeOf(shape), { lo: -3, hi: 3, special: 0.3, specials: NONFINITE }).map(
                        Math.round,
                      )
                    : ints(rng, sizeOf(shape), -3, 3);
                await check(`${name} ${dtype} [${shape}] axis ${axis}`, EXACT, () =>
                  op(tensor(x, shape, dtype), axis),
                );
              }
          await check(`${name} NaN first`, EXACT, () => op(tf.tensor([Number.NaN, 1, 2, 3]), 0));
          await check(`${name} NaN later`, EXACT, () => op(tf.tensor([[1, Number.NaN, 3, -1]]), 1));
          await check(`${name} all NaN`, EXACT, () => op(tf.tensor([[Number.NaN, Number.NaN]]), 1));
          await check(`${name} empty axis`, EXACT, () => op(tf.zeros([2, 0]), 1));
        });

      test("Softmax, logSoftmax, logSumExp: rows with -Inf / NaN / huge values, every axis for logSumExp", async () => {
        // Softmax: exp and one division per element after a float32 subtraction → 4 ulps. logSoftmax and
        // logSumExp are composites (max, sub, exp, sum, log, add) whose result can cancel to ~0: 4 ulps of
        // max |x| of the tensor.
        const rng = new Rng(6300);
        for (const shape of [[5], [1, 1], [3, 7], [2, 3, 9], [4, 0], [0, 4], [2, 2, 2, 33], [150, 130]]) {
          const x = floats(rng, sizeOf(shape), { lo: -10, hi: 10, special: 0.03, specials: NONFINITE });
          if (x.length > 8) {
            x[0] = Number.NEGATIVE_INFINITY;
            x[shape[shape.length - 1] + 1] = 80;
          }
          const maxAbs = x.reduce((m, v) => (Number.isFinite(v) ? Math.max(m, Math.abs(v)) : m), 0);
          const scale = () => tf.fill(shape, maxAbs);
          const row = shape[shape.length - 1];
          await check(`Softmax [${shape}]`, ulps(4), () => tf.softmax(tf.tensor(x, shape)), {
            kernels: ["Softmax"],
            terms: row,
          });
          const composite = ["Max", "Sub", "Exp", "Sum", "Log", "Add"];
          await check(`logSoftmax [${shape}]`, ulps(4), () => tf.logSoftmax(tf.tensor(x, shape)), {
            scale,
            kernels: composite,
            terms: row,
          });
          for (let axis = -1; axis < shape.length; axis++)
            for (const keep of [false, true]) {
              const a = axis < 0 ? shape.length + axis : axis;
              const outShape = keep
                ? shape.map((d, i) => (i === a ? 1 : d))
                : shape.filter((_, i) => i !== a);
              await check(
                `logSumExp [${shape}] axis ${axis} keepDims ${keep}`,
                ulps(4),
                () => tf.logSumExp(tf.tensor(x, shape), axis, keep),
                { scale: () => tf.fill(outShape, maxAbs), kernels: composite, terms: shape[a] },
              );
            }
        }
        await check("Softmax all -Inf row", ulps(4), () =>
          tf.softmax(
            tf.tensor([
              [Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY],
              [0, 1],
            ]),
          ),
        );
      });
    });

    describe("data movement", () => {
      const DTYPES = ["float32", "int32", "bool"] as const;

      test("Transpose: random permutations, rank 1..6, size 0/1 dims, every dtype", async () => {
        const rng = new Rng(7000);
        for (let rank = 1; rank <= 6; rank++)
          for (let i = 0; i < 8; i++) {
            const shape = randShape(rng, rank, rank <= 3 ? 6 : 3, 0.05);
            const perm = rng.shuffle([...Array(rank).keys()]);
            const dtype = DTYPES[i % 3];
            const x = values(rng, dtype, shape);
            await check(`Transpose ${dtype} [${shape}] perm [${perm}]`, EXACT, () =>
              tf.transpose(tensor(x, shape, dtype), perm),
            );
          }
        const x = floats(rng, 300 * 170);
        await check("Transpose large", EXACT, () => tf.transpose(tf.tensor(x, [300, 170])));
      });

      test("Slice: random boxes (size -1, size 0), rank 1..5, every dtype", async () => {
        const rng = new Rng(7100);
        for (let rank = 1; rank <= 5; rank++)
          for (let i = 0; i < 10; i++) {
            const shape = randShape(rng, rank, 5, 0.05);
            const begin = shape.map((d) => rng.int(0, d));
            const size = shape.map((d, k) => (rng.next() < 0.2 ? -1 : rng.int(0, d - begin[k])));
            const dtype = DTYPES[i % 3];
            const x = values(rng, dtype, shape);
            await check(`Slice ${dtype} [${shape}] begin [${begin}] size [${size}]`, EXACT, () =>
              tf.slice(tensor(x, shape, dtype), begin, size),
            );
          }
        const x = floats(rng, 300 * 170);
        await check("Slice large", EXACT, () => tf.slice(tf.tensor(x, [300, 170]), [5, 3], [290, 160]));
      });

      test("split (SplitV): equal parts, sizes with 0 and -1, every axis and dtype", async () => {
        const rng = new Rng(7200);
        const shapes = [[6], [4, 6], [2, 6, 3], [3, 2, 6, 2], [0, 6]];
        for (const shape of shapes)
          for (let axis = 0; axis < shape.length; axis++)
            for (const dtype of DTYPES) {
              const x = values(rng, dtype, shape);
              const d = shape[axis];
              const splits: (number | number[])[] = [1];
              if (d % 2 === 0 && d > 0) splits.push(2);
              if (d >= 3) splits.push([1, 0, d - 1], [0, d], [-1, 1], [d - 2, -1]);
              for (const s of splits)
                await check(`SplitV ${dtype} [${shape}] ${JSON.stringify(s)} axis ${axis}`, EXACT, () =>
                  tf.split(tensor(x, shape, dtype), s, axis),
                );
            }
      });

      test("Concat: axis 0 / middle / last, size-0 parts, 1..4 parts, every dtype", async () => {
        const rng = new Rng(7300);
        for (const base of [[3], [2, 3], [2, 3, 4], [2, 1, 3, 2]])
          for (let axis = 0; axis < base.length; axis++)
            for (const dtype of DTYPES)
              for (const parts of [1, 2, 4]) {
                const shapes = Array.from({ length: parts }, (_, k) => {
                  const s = [...base];
                  s[axis] = k === 1 ? 0 : rng.int(1, 3);
                  return s;
                });
                const xs = shapes.map((s) => values(rng, dtype, s));
                await check(`Concat ${dtype} ${JSON.stringify(shapes)} axis ${axis}`, EXACT, () =>
                  tf.concat(
                    xs.map((v, k) => tensor(v, shapes[k], dtype)),
                    axis,
                  ),
                );
              }
        const a = floats(rng, 200 * 100);
        const b = floats(rng, 200 * 70);
        await check("Concat large", EXACT, () =>
          tf.concat([tf.tensor(a, [200, 100]), tf.tensor(b, [200, 70])], 1),
        );
      });

      test("Pad: random paddings incl. 0, constant 0 / 1.5 / NaN, rank 1..5, every dtype", async () => {
        const rng = new Rng(7400);
        for (let rank = 1; rank <= 5; rank++)
          for (let i = 0; i < 9; i++) {
            const shape = randShape(rng, rank, 4, 0.05);
            const pads = shape.map(() => [rng.int(0, 2), rng.int(0, 2)] as [number, number]);
            const dtype = DTYPES[i % 3];
            const value = dtype === "bool" ? i % 2 : [0, 1.5, Number.NaN, -3][i % 4];
            if (dtype === "int32" && Number.isNaN(value)) continue;
            const x = values(rng, dtype, shape);
            await check(`PadV2 ${dtype} [${shape}] ${JSON.stringify(pads)} value ${value}`, EXACT, () =>
              tf.pad(tensor(x, shape, dtype), pads, value),
            );
          }
      });

      test("Tile and broadcastTo: reps with 0 and 1, rank 1..5, every dtype", async () => {
        const rng = new Rng(7500);
        for (let rank = 1; rank <= 5; rank++)
          for (let i = 0; i < 8; i++) {
            const shape = randShape(rng, rank, 3, 0.05);
            const reps = shape.map(() => (rng.next() < 0.1 ? 0 : rng.int(1, 3)));
            const dtype = DTYPES[i % 3];
            const x = values(rng, dtype, shape);
            await check(`Tile ${dtype} [${shape}] reps [${reps}]`, EXACT, () =>
              tf.tile(tensor(x, shape, dtype), reps),
            );
            const to = shape.map((d) => (d === 1 ? rng.int(0, 3) : d));
            const lead = rng.next() < 0.5 ? [2] : [];
            await check(
              `broadcastTo ${dtype} [${shape}] → [${[...lead, ...to]}]`,
              EXACT,
              () => tf.broadcastTo(tensor(x, shape, dtype), [...lead, ...to]),
              { kernels: ["Tile"] },
            );
          }
      });

      test("GatherV2: axis 0 / 1 / last, indices rank 0..2, first and last index, every dtype", async () => {
        const rng = new Rng(7600);
        for (const shape of [[5], [4, 3], [3, 5, 2], [2, 3, 4, 2], [6, 0], [1, 1]])
          for (const axis of [0, 1, -1]) {
            if (axis >= shape.length) continue;
            const d = shape[axis < 0 ? shape.length + axis : axis];
            for (const ishape of [[], [4], [2, 3], [0]])
              for (const dtype of DTYPES) {
                const x = values(rng, dtype, shape);
                const idx = Int32Array.from({ length: sizeOf(ishape) }, (_, k) =>
                  k === 0 ? 0 : k === 1 ? d - 1 : rng.int(0, d - 1),
                );
                await check(`GatherV2 ${dtype} [${shape}] axis ${axis} indices [${ishape}]`, EXACT, () =>
                  tf.gather(tensor(x, shape, dtype), tensor(idx, ishape, "int32"), axis),
                );
              }
          }
        // batchDims 1 (handed to the cpu kernel).
        const xb = floats(rng, 2 * 5 * 3);
        const ib = Int32Array.from([0, 4, 2, 1, 1, 3]);
        await check("GatherV2 batchDims 1", EXACT, () =>
          tf.gather(tf.tensor(xb, [2, 5, 3]), tf.tensor(ib, [2, 3], "int32"), 1, 1),
        );
        const emb = floats(rng, 1000 * 64);
        const ids = Int32Array.from({ length: 700 }, () => rng.int(0, 999));
        await check("GatherV2 embedding rows (threaded)", EXACT, () =>
          tf.gather(tf.tensor(emb, [1000, 64]), tf.tensor(ids, [7, 100], "int32")),
        );
      });

      test("GatherV2: an index out of range throws as on cpu (and leaks nothing)", async () => {
        const x = floats(new Rng(7700), 12);
        for (const [bad, axis] of [
          [4, 0],
          [-1, 0],
          [3, 1],
          [2147483647, 1],
        ])
          await check(`GatherV2 bad index ${bad} axis ${axis}`, EXACT, () =>
            tf.gather(tf.tensor(x, [4, 3]), tf.tensor([0, bad], [2], "int32"), axis),
          );
      });

      test("UnsortedSegmentSum: ids out of range skipped, repeated ids, NaN / Inf rows, sizes 0/1", async () => {
        // Exact: both sum each segment's rows in row order in double (cpu: Σ over all rows of mask·x).
        const rng = new Rng(7800);
        for (const [n, inner, segs] of [
          [0, [3], 4],
          [1, [], 1],
          [6, [], 3],
          [8, [3], 5],
          [10, [2, 3], 4],
          [5, [0], 3],
          [7, [4], 1],
          [400, [64], 50],
        ] as [number, number[], number][]) {
          const shape = [n, ...inner];
          for (const special of [0, 0.05]) {
            const x = floats(rng, sizeOf(shape), { special, specials: NONFINITE });
            const ids = Int32Array.from({ length: n }, () =>
              rng.next() < 0.15 ? rng.pick([-1, segs, segs + 3]) : rng.int(0, segs - 1),
            );
            await check(
              `UnsortedSegmentSum [${shape}] segments ${segs} specials ${special}`,
              EXACT,
              () => tf.unsortedSegmentSum(tf.tensor(x, shape), tf.tensor(ids, [n], "int32"), segs),
              {
                scale: () =>
                  tf.unsortedSegmentSum(tf.abs(tf.tensor(x, shape)), tf.tensor(ids, [n], "int32"), segs),
                terms: n,
              },
            );
          }
        }
      });

      test("OneHot: out-of-range and negative indices, depth 1..5, float32 / int32, indices rank 0..2", async () => {
        const rng = new Rng(7900);
        for (const ishape of [[], [0], [5], [2, 3]])
          for (const depth of [1, 3, 5])
            for (const dtype of ["float32", "int32"] as const) {
              const idx = Int32Array.from({ length: sizeOf(ishape) }, () => rng.int(-2, depth + 1));
              await check(`OneHot [${ishape}] depth ${depth} ${dtype}`, EXACT, () =>
                tf.oneHot(tensor(idx, ishape, "int32"), depth, 2, -1, dtype),
              );
            }
      });

      test("Reshape (shares data), also of a kernel output", async () => {
        const rng = new Rng(8000);
        for (const dtype of DTYPES) {
          const x = values(rng, dtype, [2, 3, 4]);
          await check(`Reshape ${dtype}`, EXACT, () => tf.reshape(tensor(x, [2, 3, 4], dtype), [4, 6]));
          await check(`Reshape of slice ${dtype}`, EXACT, () =>
            tf.reshape(tf.slice(tensor(x, [2, 3, 4], dtype), [1, 0, 0], [1, 3, 4]), [12]),
          );
        }
      });
    });

    describe("BatchMatMul", () => {
      // oneDNN accumulates in float32 in its own order, cpu in double per block of 64 then float32: the
      // forward-error bound of a K-term dot product, (K + 2) ulps of Σ|a||b|. NaN / ±Inf propagate the
      // same whatever the order (NaN, or one infinity, or +Inf + -Inf = NaN). Huge finite values are left
      // out: whether an intermediate float32 sum overflows depends on the summation order.
      const specials = NONFINITE;
      const mm = (a: number[], b: number[], ta: boolean, tb: boolean) => {
        const rng = new Rng(
          9000 + a.length * 100 + a.reduce((s, d) => s * 7 + d, 0) + (ta ? 1 : 0) + (tb ? 2 : 0),
        );
        const av = floats(rng, sizeOf(a), { lo: -1, hi: 1, special: 0.02, specials });
        const bv = floats(rng, sizeOf(b), { lo: -1, hi: 1, special: 0.02, specials });
        const K = ta ? a[a.length - 2] : a[a.length - 1];
        return [av, bv, K] as const;
      };
      const CASES: [number[], number[]][] = [
        [
          [3, 4],
          [4, 5],
        ],
        [
          [1, 1],
          [1, 1],
        ],
        [
          [1, 7],
          [7, 1],
        ],
        [
          [7, 1],
          [1, 6],
        ],
        [
          [5, 0],
          [0, 4],
        ], // K = 0
        [
          [0, 3],
          [3, 4],
        ], // M = 0
        [
          [3, 4],
          [4, 0],
        ], // N = 0
        [
          [2, 3, 4],
          [2, 4, 5],
        ],
        [
          [1, 3, 4],
          [4, 4, 5],
        ], // batch 1 vs N
        [
          [4, 3, 4],
          [1, 4, 5],
        ],
        [
          [4, 3, 4],
          [4, 5],
        ], // rank 3 × rank 2
        [
          [3, 4],
          [3, 4, 5],
        ],
        [
          [2, 3, 3, 4],
          [2, 3, 4, 5],
        ], // rank 4
        [
          [2, 1, 3, 4],
          [1, 3, 4, 5],
        ], // rank 4, broadcast on both sides
        [
          [3, 1, 2, 4],
          [1, 3, 4, 2],
        ], // batches 3 and 3 that broadcast to 9
        [
          [2, 3, 2, 4],
          [3, 4, 2],
        ],
        [
          [0, 3, 4],
          [0, 4, 5],
        ], // batch 0
        [
          [2, 3, 0],
          [2, 0, 4],
        ],
        [
          [65, 130],
          [130, 67],
        ],
        [
          [2, 33, 200],
          [200, 40],
        ],
      ];
      test.each([
        [false, false],
        [false, true],
        [true, false],
        [true, true],
      ])("transposeA=%s transposeB=%s: ranks 2..4, batch broadcast, K/M/N = 0, NaN/Inf", async (ta, tb) => {
        for (const [a0, b0] of CASES) {
          // Stored shapes: the transposed operands have their last two dims swapped.
          const a = ta ? [...a0.slice(0, -2), a0[a0.length - 1], a0[a0.length - 2]] : a0;
          const b = tb ? [...b0.slice(0, -2), b0[b0.length - 1], b0[b0.length - 2]] : b0;
          const [av, bv, K] = mm(a, b, ta, tb);
          const absA = av.map(Math.abs);
          const absB = bv.map(Math.abs);
          // Leading axes that broadcast other than by a batch of 1 ([3, 1] x [1, 3]): the cpu kernel returns
          // a malformed tensor there (max(batchA, batchB) matrices under the broadcast shape), so the
          // reference multiplies the operands broadcast to the full batch first.
          const outer = tf.backend_util.assertAndGetBroadcastShape(a.slice(0, -2), b.slice(0, -2));
          const [bA, bB, bO] = [sizeOf(a.slice(0, -2)), sizeOf(b.slice(0, -2)), sizeOf(outer)];
          const general = (bA !== bO && bA !== 1) || (bB !== bO && bB !== 1);
          const full = (v: Float32Array, s: number[]) =>
            tf.broadcastTo(tf.tensor(v, s), [...outer, ...s.slice(-2)]);
          await check(
            `BatchMatMul [${a}]${ta ? "ᵀ" : ""} x [${b}]${tb ? "ᵀ" : ""}`,
            ulps(K + 2),
            () => tf.matMul(tf.tensor(av, a), tf.tensor(bv, b), ta, tb),
            {
              scale: () => tf.matMul(full(absA, a), full(absB, b), ta, tb),
              reference: general ? () => tf.matMul(full(av, a), full(bv, b), ta, tb) : undefined,
              terms: K,
            },
          );
        }
      });
    });

    describe(`gradients (tf.grads on ${B} vs cpu)`, () => {
      // Data-movement gradients (transpose, concat/split, slice/pad, gather → segment sum, broadcast add →
      // sum) are exact. Gradients through matmul / softmax / tanh: each element within 8·(K + 2) ulps of
      // the largest |gradient| of its tensor (a handful of K-term float32 dot products chained).
      const rng = new Rng(10_000);
      const f = (shape: number[], lo = -1, hi = 1) => {
        const v = floats(rng, sizeOf(shape), { lo, hi, special: 0 });
        return () => tf.tensor(v, shape);
      };
      const maxAbsScale = (g: Fn) => () =>
        [g()].flat().map((t) => tf.broadcastTo(tf.max(tf.abs(t)), t.shape));
      // What the gradients below run, forward and backward (wasm has all of them but UnsortedSegmentSum).
      const GRAD_KERNELS = [
        "BatchMatMul",
        "Tanh",
        "Multiply",
        "Sum",
        "Softmax",
        "Log",
        "Add",
        "Sub",
        "Exp",
        "Max",
      ];
      // The exact gradients carry the max-|gradient| scale too, for a policy's bound (unused when exact);
      // `terms`: the longest sum in the chain.
      const checkGrad = (label: string, tol: Tol, fn: Fn, opts: CaseOpts = {}) =>
        check(label, tol, fn, { kernels: GRAD_KERNELS, scale: maxAbsScale(fn), ...opts });

      test("x·w matmul chain with tanh", async () => {
        const x = f([6, 8]);
        const w1 = f([8, 7]);
        const w2 = f([7, 3]);
        const c = f([6, 3]);
        const grads = () =>
          tf.grads((a: tf.Tensor, b: tf.Tensor, d: tf.Tensor) =>
            tf.sum(tf.mul(tf.matMul(tf.tanh(tf.matMul(a, b)), d), c())),
          )([x(), w1(), w2()]);
        await checkGrad("grad:matmul-chain", ulps(8 * 10), grads, { scale: maxAbsScale(grads), terms: 8 });
      });

      test("batched matmul with transposes (attention-like)", async () => {
        const q = f([2, 5, 4]);
        const k = f([2, 6, 4]);
        const v = f([2, 6, 3]);
        const grads = () =>
          tf.grads((a: tf.Tensor, b: tf.Tensor, d: tf.Tensor) =>
            tf.sum(tf.square(tf.matMul(tf.softmax(tf.matMul(a, b, false, true)), d))),
          )([q(), k(), v()]);
        await checkGrad("grad:attention", ulps(8 * 8), grads, { scale: maxAbsScale(grads), terms: 6 });
      });

      test("softmax then log", async () => {
        const x = f([4, 9], -5, 5);
        const c = f([4, 9]);
        const grads = () => tf.grads((a: tf.Tensor) => tf.sum(tf.mul(tf.log(tf.softmax(a)), c())))([x()]);
        await checkGrad("grad:log-softmax", ulps(8 * 11), grads, { scale: maxAbsScale(grads), terms: 9 });
        const grads2 = () => tf.grads((a: tf.Tensor) => tf.sum(tf.mul(tf.logSoftmax(a), c())))([x()]);
        await checkGrad("grad:logSoftmax", ulps(8 * 11), grads2, {
          scale: maxAbsScale(grads2),
          terms: 9,
        });
      });

      test("broadcast add + sum", async () => {
        const a = f([4, 1, 3]);
        const b = f([5, 1]);
        const c = f([4, 5, 3]);
        await checkGrad(
          "grad:broadcast-add",
          EXACT,
          () => tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.mul(tf.add(p, q), c())))([a(), b()]),
          { terms: 12 },
        );
      });

      test("gather (→ UnsortedSegmentSum) with repeated indices", async () => {
        const emb = f([10, 4]);
        const idx = Int32Array.from([3, 0, 3, 9, 3, 1, 0]);
        const c = f([7, 4]);
        const kernels = ["GatherV2", "UnsortedSegmentSum"];
        await checkGrad(
          "grad:gather-axis-0",
          EXACT,
          () =>
            tf.grads((e: tf.Tensor) => tf.sum(tf.mul(tf.gather(e, tf.tensor(idx, [7], "int32")), c())))([
              emb(),
            ]),
          { kernels, terms: 3 },
        );
        const c1 = f([10, 2, 2]);
        await checkGrad(
          "grad:gather-axis-1",
          EXACT,
          () =>
            tf.grads((e: tf.Tensor) =>
              tf.sum(
                tf.mul(tf.gather(tf.transpose(e), tf.tensor(idx.slice(0, 4), [2, 2], "int32"), 1), c1()),
              ),
            )([tf.transpose(emb())]),
          { kernels, terms: 3 },
        );
      });

      test("transpose, concat / split, slice / pad", async () => {
        const x = f([2, 3, 4]);
        const c = f([4, 2, 3]);
        await checkGrad("grad:transpose", EXACT, () =>
          tf.grads((a: tf.Tensor) => tf.sum(tf.mul(tf.transpose(a, [2, 0, 1]), c())))([x()]),
        );
        const y = f([2, 5, 4]);
        const c2 = f([2, 8, 4]);
        await checkGrad("grad:concat", EXACT, () =>
          tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.concat([a, b], 1), c2())))([x(), y()]),
        );
        const cs = f([2, 2, 4]);
        await checkGrad("grad:split", EXACT, () =>
          tf.grads((a: tf.Tensor) => {
            const [p, , r] = tf.split(a, [2, 3, 3], 1);
            return tf.add(tf.sum(tf.mul(p, cs())), tf.sum(tf.square(r)));
          })([c2()]),
        );
        const cp = f([4, 5, 6]);
        await checkGrad("grad:slice-pad", EXACT, () =>
          tf.grads((a: tf.Tensor) =>
            tf.sum(
              tf.mul(
                tf.pad(
                  tf.slice(a, [0, 1, 1], [2, 2, 3]),
                  [
                    [1, 1],
                    [2, 1],
                    [0, 3],
                  ],
                  0.5,
                ),
                cp(),
              ),
            ),
          )([x()]),
        );
      });

      test("mean / max / where", async () => {
        const x = f([5, 6]);
        await checkGrad(
          "grad:mean-of-max",
          EXACT,
          () => tf.grads((a: tf.Tensor) => tf.mean(tf.max(a, 1)))([x()]),
          { terms: 5 },
        );
        await checkGrad("grad:where", EXACT, () => {
          const cond = tf.greater(x(), 0); // outside the differentiated path (Greater has no gradient)
          return tf.grads((a: tf.Tensor) => tf.sum(tf.where(cond, tf.mul(a, 3), tf.neg(a))))([x()]);
        });
      });
    });

    if (subject.wasm)
      describe("wasm (a second opinion)", () => {
        test("wasm differs from cpu only where documented", () => {
          if (!wasmReady) return;
          expect(stats.wasmCompared).toBeGreaterThan(100);
          const unexpected = [...wasmDiffs].filter(([k]) => !(k in KNOWN_WASM_DIFFS));
          expect(unexpected.map(([, d]) => d).join("\n\n")).toBe("");
        });
      });

    const known = policy?.knownDiffs;
    if (known)
      describe(`${B}: documented differences`, () => {
        // A difference outside the list already failed its case; here, every entry must still occur.
        test("every documented difference still occurs", () => {
          expect(stats.cases).toBeGreaterThan(0);
          const stale = Object.keys(known).filter((k) => !stats.knownSeen.has(k));
          expect(stale.map((k) => `${k}: documented ("${reasonOf(known[k])}"), but no case differs`)).toEqual(
            [],
          );
        });
      });

    subject.extraTests?.();
  });
  return stats;
}
