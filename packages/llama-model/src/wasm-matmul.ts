import * as tf from "@tensorflow/tfjs";

// Structural view of the wasm backend: what the wrapper below touches.
interface WasmBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
  disposeData(dataId: unknown): boolean;
}

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs: tf.NamedAttrMap };
type Kernel = (args: KernelArgs) => tf.TensorInfo;

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

/**
 * tfjs-backend-wasm 4.22 sends a matmul to XNNPACK's packed GEMM only when it is one un-transposed
 * 2-D product; a transposed operand or a batch falls back to a slow generic loop (10–50× slower,
 * see bench/llama-step.ts). Autodiff of x·Wᵀ produces exactly those (dy·W, dyᵀ·x), as does attention.
 * So: transposes are materialised with the backend's own Transpose kernel, and batches are split
 * into separate 2-D products, each on fresh tensors — XNNPACK caches packed weights by tensor id,
 * so a scratch tensor reused for different contents would silently reuse stale packed weights.
 */
export function fastBatchMatMul(orig: Kernel, transpose: Kernel): Kernel {
  return (args) => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
    const backend = args.backend as WasmBackend;
    const batchA = size(a.shape.slice(0, -2));
    const batchB = size(b.shape.slice(0, -2));
    const outer = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
    const plain = !transposeA && !transposeB && batchA === 1 && batchB === 1;
    // Simple batches only (equal, or one side shared); anything fancier keeps the stock kernel.
    const broadcastable =
      (batchA === batchB || batchA === 1 || batchB === 1) && size(outer) === Math.max(batchA, batchB);
    if (plain || a.dtype !== "float32" || b.dtype !== "float32" || !broadcastable) return orig(args);

    const scratch: tf.TensorInfo[] = [];
    const swapLast = (x: tf.TensorInfo) => {
      const r = x.shape.length;
      const perm = [...Array(r - 2).keys(), r - 1, r - 2];
      const y = transpose({ inputs: { x }, backend, attrs: { perm } });
      scratch.push(y);
      return y;
    };
    try {
      const A = transposeA ? swapLast(a) : a;
      const B = transposeB ? swapLast(b) : b;
      const M = A.shape[A.shape.length - 2];
      const K = A.shape[A.shape.length - 1];
      const N = B.shape[B.shape.length - 1];
      const batch = Math.max(batchA, batchB);
      const noTranspose = { transposeA: false, transposeB: false };
      if (batch === 1) {
        const a2 = { ...A, shape: [M, K] };
        const b2 = { ...B, shape: [K, N] };
        const c = orig({ inputs: { a: a2, b: b2 }, backend, attrs: noTranspose });
        return { ...c, shape: [...outer, M, N] };
      }
      const out = backend.makeOutput([...outer, M, N], "float32");
      for (let i = 0; i < batch; i++) {
        const ai = backend.makeOutput([M, K], "float32");
        const bi = backend.makeOutput([K, N], "float32");
        // Heap views are taken after every allocation: malloc may grow (and move) wasm memory.
        const offA = (batchA === 1 ? 0 : i) * M * K;
        const offB = (batchB === 1 ? 0 : i) * K * N;
        backend.typedArrayFromHeap(ai).set(backend.typedArrayFromHeap(A).subarray(offA, offA + M * K));
        backend.typedArrayFromHeap(bi).set(backend.typedArrayFromHeap(B).subarray(offB, offB + K * N));
        const ci = orig({ inputs: { a: ai, b: bi }, backend, attrs: noTranspose });
        backend.typedArrayFromHeap(out).set(backend.typedArrayFromHeap(ci), i * M * N);
        backend.disposeData(ai.dataId);
        backend.disposeData(bi.dataId);
        backend.disposeData(ci.dataId);
      }
      return out;
    } finally {
      for (const t of scratch) backend.disposeData(t.dataId);
    }
  };
}

let installed = false;

export function fastWasmMatMulInstalled(): boolean {
  return installed;
}

/** Wrap the wasm BatchMatMul kernel (idempotent). */
export function installFastWasmMatMul(): void {
  if (installed) return;
  const mm = tf.getKernel("BatchMatMul", "wasm");
  const tr = tf.getKernel("Transpose", "wasm");
  if (!mm || !tr) return;
  installed = true;
  const wrapped = fastBatchMatMul(mm.kernelFunc as unknown as Kernel, tr.kernelFunc as unknown as Kernel);
  tf.unregisterKernel("BatchMatMul", "wasm");
  tf.registerKernel({ ...mm, kernelFunc: wrapped as unknown as tf.KernelFunc });
}
