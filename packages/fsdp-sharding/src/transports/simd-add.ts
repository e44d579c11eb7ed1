/**
 * The ring's reduction, dst[i] = a[i] + b[i], through a 188-byte WebAssembly module using 128-bit SIMD
 * (f32x4.add, 16 floats per iteration). V8 does not vectorise a typed-array loop: measured here 1.2 ns
 * per float this way — copying both operands into the module's memory and the result back included —
 * against 2.8 for the unrolled JS loop (4.0 plain), and the reduction is the ring's main CPU cost besides
 * the kernel's socket copies. f32 addition is exactly rounded either way (JS adds in float64, which rounds
 * to the same float32), so results are bit-identical to the JS loop. `dst` may alias `a` (in-place
 * all-reduce): operands are copied in before the result is copied out. Falls back to the JS loop where
 * WebAssembly SIMD is missing.
 *
 * The module is `simd-add.wat` beside this file, assembled with Debian's wabt:
 *   wat2wasm src/transports/simd-add.wat -o /dev/stdout | xxd -p | tr -d '\n'
 */
const WASM_HEX =
  "0061736d0100000001080160047f7f7f7f00030201000503010001071002066d656d6f727902000361646400000a8c0101890101017f200020034102746a210402400340200020044f0d0120002001fd0004002002fd000400fde401fd0b040020002001fd0004102002fd000410fde401fd0b041020002001fd0004202002fd000420fde401fd0b042020002001fd0004302002fd000430fde401fd0b0430200041c0006a2100200141c0006a2101200241c0006a21020c000b0b0b";

/** Floats per kernel call: three blocks (a, b/result) of 256 KiB stay in cache and bound the memory. */
const BLOCK = 1 << 16;
/** Below this the copies cost more than they save. */
const MIN_SIMD = 64;

interface Kernel {
  heap: Float32Array;
  add: (dst: number, a: number, b: number, n: number) => void;
}

// The compile target's lib has no WebAssembly types; the few members used here, declared.
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: Record<string, unknown> };
};
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

let kernel: Kernel | null | undefined;

function loadKernel(): Kernel | null {
  try {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(WASM_HEX, "hex")));
    const memory = instance.exports.memory as WasmMemory;
    const pages = Math.ceil((2 * BLOCK * 4) / 65536) - memory.buffer.byteLength / 65536;
    if (pages > 0) memory.grow(pages);
    return { heap: new Float32Array(memory.buffer), add: instance.exports.add as Kernel["add"] };
  } catch {
    return null;
  }
}

function addLoop(dst: Float32Array, a: Float32Array, b: Float32Array, from: number): void {
  const n = dst.length;
  let i = from;
  for (; i + 4 <= n; i += 4) {
    dst[i] = a[i] + b[i];
    dst[i + 1] = a[i + 1] + b[i + 1];
    dst[i + 2] = a[i + 2] + b[i + 2];
    dst[i + 3] = a[i + 3] + b[i + 3];
  }
  for (; i < n; i++) dst[i] = a[i] + b[i];
}

/** dst[i] = a[i] + b[i] for i < dst.length (a and b at least as long). */
export function addInto(dst: Float32Array, a: Float32Array, b: Float32Array): void {
  if (kernel === undefined) kernel = loadKernel();
  const n = dst.length;
  if (!kernel || n < MIN_SIMD) {
    addLoop(dst, a, b, 0);
    return;
  }
  const { heap, add } = kernel;
  let off = 0;
  while (n - off >= 16) {
    const m = Math.min(BLOCK, (n - off) & ~15);
    heap.set(a.subarray(off, off + m), 0);
    heap.set(b.subarray(off, off + m), BLOCK);
    add(0, 0, BLOCK * 4, m);
    dst.set(heap.subarray(0, m), off);
    off += m;
  }
  addLoop(dst, a, b, off);
}

/**
 * dst[i] = ((s0[i] + s1[i]) + s2[i]) + … for i < dst.length: the sum in source order, rounded to float32
 * after each addition (bit-identical to chaining `addInto`). Block by block, so each source is read from
 * memory once and `dst` written once, however many sources there are. `dst` may alias a source at the
 * same offsets (a block is read before it is written).
 */
export function sumInto(dst: Float32Array, sources: readonly Float32Array[]): void {
  if (kernel === undefined) kernel = loadKernel();
  const n = dst.length;
  if (sources.length === 1) {
    dst.set(sources[0].subarray(0, n));
    return;
  }
  if (!kernel || n < MIN_SIMD) {
    addLoop(dst, sources[0], sources[1], 0);
    for (let q = 2; q < sources.length; q++) addLoop(dst, dst, sources[q], 0);
    return;
  }
  const { heap, add } = kernel;
  let off = 0;
  while (n - off >= 16) {
    const m = Math.min(BLOCK, (n - off) & ~15);
    heap.set(sources[0].subarray(off, off + m), 0);
    for (let q = 1; q < sources.length; q++) {
      heap.set(sources[q].subarray(off, off + m), BLOCK);
      add(0, 0, BLOCK * 4, m);
    }
    dst.set(heap.subarray(0, m), off);
    off += m;
  }
  if (off < n) {
    const tail = dst.subarray(off);
    const part = (q: number) => sources[q].subarray(off, n);
    addLoop(tail, part(0), part(1), 0);
    for (let q = 2; q < sources.length; q++) addLoop(tail, tail, part(q), 0);
  }
}

/** Whether the SIMD kernel is in use (false: the JS loop). */
export function simdAddAvailable(): boolean {
  if (kernel === undefined) kernel = loadKernel();
  return kernel !== null;
}
