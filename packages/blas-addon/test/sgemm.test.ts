import { spawnSync } from "node:child_process";
import { describe, expect, test } from "vitest";
import { blasInfo, blasThreads, isBlasAddonBuilt, setBlasThreads, sgemm } from "../src/index";

// Deterministic values in [-1, 1) (an LCG), so a failure reproduces.
function filled(n: number, seed: number, buf?: ArrayBufferLike, byteOffset = 0): Float32Array {
  const a = buf ? new Float32Array(buf, byteOffset, n) : new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 2 ** 31 - 1;
  }
  return a;
}

/** The reference: C = alpha·op(A)·op(B) + beta·C with plain loops, in float64, row-major with leading dims. */
function naive(
  ta: boolean,
  tb: boolean,
  M: number,
  N: number,
  K: number,
  alpha: number,
  A: Float32Array,
  aOff: number,
  lda: number,
  B: Float32Array,
  bOff: number,
  ldb: number,
  beta: number,
  C: Float32Array,
  cOff: number,
  ldc: number,
): Float64Array {
  const out = new Float64Array(M * N);
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) {
        const a = ta ? A[aOff + k * lda + i] : A[aOff + i * lda + k];
        const b = tb ? B[bOff + j * ldb + k] : B[bOff + k * ldb + j];
        s += a * b;
      }
      out[i * N + j] = alpha * s + beta * C[cOff + i * ldc + j];
    }
  return out;
}

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, K: number) {
  expect(got.length).toBe(want.length);
  // float32 accumulation of K terms of size ≤ 1: error ≲ K · 2⁻²⁴ · |terms|
  const tol = 1e-6 * (K + 4);
  for (let i = 0; i < want.length; i++)
    if (!(Math.abs(got[i] - want[i]) <= tol))
      throw new Error(`element ${i}: ${got[i]} vs ${want[i]} (tol ${tol})`);
}

const built = isBlasAddonBuilt();
// The tsconfig has no DOM/wasm lib: the one constructor used here, typed by hand.
const { Memory } = (
  globalThis as unknown as {
    WebAssembly: {
      Memory: new (d: { initial: number; maximum: number; shared: boolean }) => { buffer: ArrayBufferLike };
    };
  }
).WebAssembly;

describe.runIf(built)("sgemm (OpenBLAS) against plain loops", () => {
  test.each([
    [false, false],
    [false, true],
    [true, false],
    [true, true],
  ])("transA=%s transB=%s, odd shapes, padded leading dims, offsets, alpha/beta", (ta, tb) => {
    for (const [M, N, K] of [
      [1, 1, 1],
      [7, 5, 3],
      [13, 1, 17],
      [1, 11, 9],
      [33, 29, 65],
    ]) {
      const [ar, ac] = ta ? [K, M] : [M, K];
      const [br, bc] = tb ? [N, K] : [K, N];
      const lda = ac + 2;
      const ldb = bc + 1;
      const ldc = N + 3;
      const aOff = 5;
      const bOff = 3;
      const cOff = 7;
      const A = filled(aOff + ar * lda, 1 + M);
      const B = filled(bOff + br * ldb, 2 + N);
      const C = filled(cOff + M * ldc + 4, 3 + K);
      const C0 = C.slice();
      const want = naive(ta, tb, M, N, K, 0.75, A, aOff, lda, B, bOff, ldb, -0.5, C0, cOff, ldc);
      sgemm(ta, tb, M, N, K, 0.75, A, lda, B, ldb, -0.5, C, ldc, {
        aOffset: aOff,
        bOffset: bOff,
        cOffset: cOff,
      });
      const got = new Float32Array(M * N);
      for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) got[i * N + j] = C[cOff + i * ldc + j];
      expectClose(got, want, K);
      // the padding between rows and past the end is untouched
      for (let i = 0; i < M; i++)
        for (let j = N; j < ldc && cOff + i * ldc + j < C.length; j++)
          expect(C[cOff + i * ldc + j]).toBe(C0[cOff + i * ldc + j]);
      expect(Array.from(C.subarray(0, cOff))).toEqual(Array.from(C0.subarray(0, cOff)));
      expect(Array.from(C.subarray(cOff + M * ldc))).toEqual(Array.from(C0.subarray(cOff + M * ldc)));
    }
  });

  test("batched with strides, and a shared (stride 0) operand", () => {
    const [batch, M, N, K] = [4, 6, 5, 7];
    const A = filled(batch * M * K, 11);
    const B = filled(N * K, 12); // one B (stored N×K, transposed) for every batch
    const C = new Float32Array(batch * M * N);
    sgemm(false, true, M, N, K, 1, A, K, B, K, 0, C, N, { batch, strideA: M * K, strideB: 0 });
    for (let b = 0; b < batch; b++) {
      const want = naive(false, true, M, N, K, 1, A, b * M * K, K, B, 0, K, 0, C, 0, N);
      expectClose(C.subarray(b * M * N, (b + 1) * M * N), want, K);
    }
  });

  test("works in place on SharedArrayBuffer and shared WebAssembly.Memory (a threaded wasm heap)", () => {
    const [M, N, K] = [9, 10, 11];
    const mem = new Memory({ initial: 1, maximum: 4, shared: true });
    for (const buf of [new SharedArrayBuffer(4096), mem.buffer]) {
      expect(buf).toBeInstanceOf(SharedArrayBuffer);
      const heap = new Float32Array(buf);
      filled(M * K, 21, buf, 16); // A at element 4
      filled(K * N, 22, buf, 16 + 4 * M * K); // B right after
      const cOff = 4 + M * K + K * N + 1;
      sgemm(true, false, K, N, M, 1, heap, K, heap, N, 0, heap, N, {
        aOffset: 4,
        bOffset: 4 + M * K,
        cOffset: cOff,
      });
      // op(A) = Aᵀ for A stored M×K: a K×N result with M as the shared dimension.
      const want = naive(true, false, K, N, M, 1, heap, 4, K, heap, 4 + M * K, N, 0, heap, cOff, N);
      expectClose(heap.subarray(cOff, cOff + K * N), want, M);
    }
    // a view with a byte offset: the data pointer includes it
    const sab = new SharedArrayBuffer(1024);
    const view = filled(12, 31, sab, 64);
    const out = new Float32Array(sab, 512, 9);
    sgemm(false, true, 3, 3, 4, 1, view, 4, view, 4, 0, out, 3);
    expectClose(out, naive(false, true, 3, 3, 4, 1, view, 0, 4, view, 0, 4, 0, out, 0, 3), 4);
  });

  test("K = 0 scales C by beta; M or N = 0 touches nothing", () => {
    const C = Float32Array.from([1, 2, 3, 4]);
    sgemm(false, false, 2, 2, 0, 1, new Float32Array(0), 1, new Float32Array(0), 2, 0.5, C, 2);
    expect(Array.from(C)).toEqual([0.5, 1, 1.5, 2]);
    sgemm(false, false, 0, 2, 3, 1, new Float32Array(0), 3, new Float32Array(6), 2, 0, C, 2);
    expect(Array.from(C)).toEqual([0.5, 1, 1.5, 2]);
  });

  test("out-of-range operands, bad leading dims and overlapping batches throw before BLAS runs", () => {
    const a9 = new Float32Array(9);
    const call = (f: () => void) => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(RangeError);
        expect((e as NodeJS.ErrnoException).code).toBe("ERR_BLAS_ARGUMENT");
        return (e as Error).message;
      }
      throw new Error("did not throw");
    };
    expect(call(() => sgemm(false, false, 3, 3, 3, 1, new Float32Array(8), 3, a9, 3, 0, a9, 3))).toBe(
      "sgemm: A needs elements [0, 9) but has 8",
    );
    expect(call(() => sgemm(false, false, 3, 3, 3, 1, a9, 3, a9, 3, 0, a9, 3, { bOffset: 1 }))).toMatch(
      /B needs elements \[1, 10\)/,
    );
    expect(call(() => sgemm(false, false, 3, 3, 3, 1, a9, 2, a9, 3, 0, a9, 3))).toMatch(/lda = 2 is less/);
    expect(
      call(() =>
        sgemm(false, false, 3, 3, 3, 1, a9, 3, a9, 3, 0, new Float32Array(18), 3, { batch: 2, strideC: 3 }),
      ),
    ).toMatch(/strideC/);
    expect(
      call(() =>
        sgemm(false, false, 1, 1, 1, 1, new Float64Array(1) as unknown as Float32Array, 1, a9, 1, 0, a9, 1),
      ),
    ).toMatch(/A must be a Float32Array/);
    expect(call(() => sgemm(false, false, 1.5, 1, 1, 1, a9, 1, a9, 1, 0, a9, 1))).toMatch(/whole numbers/);
  });

  test("thread count round-trips; the library is OpenBLAS from a shared object", () => {
    const before = blasThreads();
    expect(before).toBeGreaterThanOrEqual(1);
    setBlasThreads(1);
    expect(blasThreads()).toBe(1);
    setBlasThreads(before);
    expect(blasThreads()).toBe(before);
    const info = blasInfo();
    expect(info.config).toMatch(/^OpenBLAS \d+\.\d+/);
    expect(info.name).toMatch(/^OpenBLAS \d+\.\d+\S* \(.+, (pthread|openmp|none)\)$/);
    expect(info.library).toMatch(/libopenblas.*\.so/);
  });
});

describe("without the native build", () => {
  test("a fresh process without the addon file gets BlasUnavailableError", () => {
    const src = `import { loadBlasBinding } from ${JSON.stringify(new URL("../src/index.ts", import.meta.url).pathname)};
try { loadBlasBinding("/nonexistent/blas_addon.node"); } catch (e) { console.log(e.name + ": " + e.message); }`;
    const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", src], {
      encoding: "utf8",
      cwd: new URL("..", import.meta.url).pathname,
    });
    expect(r.stdout.trim()).toBe(
      "BlasUnavailableError: OpenBLAS addon unavailable (native addon not built: /nonexistent/blas_addon.node does not exist): apt-get install libopenblas-dev, then rebuild: pnpm --filter @biomed-llama/blas-addon build:native",
    );
  });
});
