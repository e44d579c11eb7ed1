import * as tf from "@tensorflow/tfjs";
import { MathBackendCPU } from "@tensorflow/tfjs-backend-cpu";
import type { NativeBinding } from "./load-binding.js";

/** What a tensor's data is held in: float32 / int32 / bool as tfjs has them, or bfloat16 storage. */
export type Stored = Float32Array | Int32Array | Uint8Array | Uint16Array;

interface Entry {
  values: unknown;
  dtype: tf.DataType;
  refCount: number;
  /** The float32 tensor is held as bfloat16 (a Uint16Array of the same length). */
  bf16?: boolean;
  complexTensorInfos?: unknown;
}

type DataId = object;

/**
 * tfjs's cpu backend with its tensors on the native heap and its hot kernels in native code.
 *
 * It extends MathBackendCPU so every kernel it does not implement natively still runs (the cpu
 * backend's JavaScript kernels read the same typed arrays), while the kernels a LLaMA step spends its
 * time in are registered over them (see register.ts). Memory: tensor data is allocated by the addon
 * (64-byte aligned, outside V8's heap and the wasm 4 GiB space) and released when tfjs disposes the
 * tensor, not at a later garbage collection; readSync hands out copies, so no view of freed memory ever
 * escapes. A float32 tensor may be held as bfloat16 (2 bytes per element, see `adoptBf16TensorInfo`):
 * matmul and gather widen it on the fly, every other kernel sees a widened temporary.
 */
export class NativeBackend extends MathBackendCPU {
  /** "bf16": matmuls round both operands to bfloat16 and accumulate in float32 (autocast-style). */
  matmulPrecision: "f32" | "bf16" = "f32";
  private readonly native = new WeakSet<ArrayBuffer>();

  constructor(readonly binding: NativeBinding) {
    super();
  }

  /** A zero-filled (when `zero`) native array for `size` elements of `dtype`. */
  allocArray(dtype: tf.DataType, size: number, zero = false): Float32Array | Int32Array | Uint8Array {
    const bytes = dtype === "bool" ? size : size * 4;
    const buf = this.binding.alloc(bytes, zero);
    this.native.add(buf);
    if (dtype === "int32") return new Int32Array(buf, 0, size);
    if (dtype === "bool") return new Uint8Array(buf, 0, size);
    if (dtype === "float32") return new Float32Array(buf, 0, size);
    throw new Error(`native backend: no native storage for dtype ${dtype}`);
  }

  allocBf16(size: number): Uint16Array {
    const buf = this.binding.alloc(size * 2, false);
    this.native.add(buf);
    return new Uint16Array(buf, 0, size);
  }

  isNative(values: unknown): boolean {
    return ArrayBuffer.isView(values) && this.native.has(values.buffer as ArrayBuffer);
  }

  // MathBackendCPU's id counter is private in its typings, public at run time.
  private newDataId(): number {
    return (this as unknown as { nextDataId(): number }).nextDataId();
  }

  private entry(dataId: DataId): Entry {
    return this.data.get(dataId) as unknown as Entry;
  }

  /** Uploads from outside (tf.tensor, setParameter): copied onto the native heap. */
  override write(values: tf.backend_util.BackendValues | null, shape: number[], dtype: tf.DataType): DataId {
    const dataId = { id: this.newDataId() };
    this.data.set(dataId, { values: this.toNative(values, shape, dtype), dtype, refCount: 1 } as never);
    return dataId;
  }

  /** Kernel outputs: their arrays are fresh, so they are kept as they are (native or not). */
  override makeTensorInfo(
    shape: number[],
    dtype: tf.DataType,
    values?: tf.backend_util.BackendValues | string[],
  ): tf.TensorInfo {
    if (dtype === "string" || values == null) return super.makeTensorInfo(shape, dtype, values);
    const dataId = { id: this.newDataId() };
    this.data.set(dataId, { values, dtype, refCount: 1 } as never);
    return { dataId, shape, dtype };
  }

  /**
   * A bfloat16-held float32 tensor over `values`, an array from `allocBf16` that the caller filled (e.g.
   * read from a checkpoint straight into it): no copy is made, and the tensor owns the memory from now
   * on (freed when it is disposed). Wrap it with `tf.engine().makeTensorFromTensorInfo(info)`.
   */
  adoptBf16TensorInfo(values: Uint16Array, shape: number[]): tf.TensorInfo {
    this.checkAdopted(values, shape);
    const dataId = { id: this.newDataId() };
    this.data.set(dataId, { values, dtype: "float32", refCount: 1, bf16: true } as never);
    return { dataId, shape, dtype: "float32" };
  }

  /** The same for an array from `allocArray` (float32, int32 or bool storage of that dtype). */
  adoptTensorInfo(
    values: Float32Array | Int32Array | Uint8Array,
    shape: number[],
    dtype: tf.DataType,
  ): tf.TensorInfo {
    const want =
      dtype === "float32"
        ? Float32Array
        : dtype === "int32"
          ? Int32Array
          : dtype === "bool"
            ? Uint8Array
            : null;
    if (!want || !(values instanceof want))
      throw new Error(`adopt: a ${values.constructor.name} cannot hold a ${dtype} tensor`);
    this.checkAdopted(values, shape);
    return this.makeTensorInfo(shape, dtype, values);
  }

  private checkAdopted(values: ArrayBufferView & { length: number }, shape: number[]): void {
    const size = tf.util.sizeFromShape(shape);
    if (values.length !== size) throw new Error(`adopt: ${values.length} values for shape [${shape}]`);
    if (!this.isNative(values))
      throw new Error("adopt: the array was not allocated by this backend (allocArray / allocBf16)");
  }

  isBf16(dataId: DataId): boolean {
    return this.entry(dataId)?.bf16 === true;
  }

  override move(
    dataId: DataId,
    values: tf.backend_util.BackendValues,
    shape: number[],
    dtype: tf.DataType,
    refCount: number,
  ): void {
    this.data.set(dataId, { values: this.toNative(values, shape, dtype), dtype, refCount } as never);
  }

  private toNative(
    values: tf.backend_util.BackendValues | null,
    shape: number[],
    dtype: tf.DataType,
  ): unknown {
    if (dtype !== "float32" && dtype !== "int32" && dtype !== "bool") return values;
    const size = tf.util.sizeFromShape(shape);
    if (values == null) return this.allocArray(dtype, size, true);
    if (!ArrayBuffer.isView(values)) return values;
    const out = this.allocArray(dtype, size);
    out.set(values as ArrayLike<number>);
    return out;
  }

  /** Copies (never views of native memory, which is freed on dispose); bfloat16 is widened. */
  override readSync(dataId: DataId): tf.backend_util.BackendValues {
    const e = this.entry(dataId);
    if (e.bf16) {
      const v = e.values as Uint16Array;
      const out = new Float32Array(v.length);
      this.binding.fromBf16(v, out);
      return out;
    }
    if (this.isNative(e.values)) return (e.values as Float32Array).slice();
    return super.readSync(dataId);
  }

  /** The stored array, as kernels read it (no copy; Uint16Array when held as bfloat16). */
  stored(t: tf.TensorInfo): Stored {
    return this.entry(t.dataId).values as Stored;
  }

  /** float32 values of a float32 tensor: the stored array, or a widened temporary for bfloat16. */
  f32(t: tf.TensorInfo): Float32Array {
    const e = this.entry(t.dataId);
    if (!e.bf16) return e.values as Float32Array;
    const out = new Float32Array((e.values as Uint16Array).length);
    this.binding.fromBf16(e.values as Uint16Array, out);
    return out;
  }

  /** A new output tensor on the native heap: its info and its array to fill. */
  output<T extends Float32Array | Int32Array | Uint8Array = Float32Array>(
    shape: number[],
    dtype: tf.DataType = "float32",
    zero = false,
  ): { info: tf.TensorInfo; values: T } {
    const size = tf.util.sizeFromShape(shape);
    const values = this.allocArray(dtype, size, zero) as T;
    return { info: this.makeTensorInfo(shape, dtype, values), values };
  }

  override disposeData(dataId: DataId, force = false): boolean {
    const e = this.data.has(dataId) ? this.entry(dataId) : null;
    const done = super.disposeData(dataId, force);
    if (e && done && !this.data.has(dataId) && this.isNative(e.values))
      this.binding.release((e.values as Float32Array).buffer as ArrayBuffer);
    return done;
  }

  /**
   * Frees the memory of disposed tensors kept for reuse (what `nativeCachedBytes` counts). The cache
   * bounds itself (memory.c), but a caller whose shapes change on every call (an evaluator's rows of new
   * lengths, generation's growing key/value cache) knows better than any policy when it is all stale.
   */
  emptyCache(): void {
    this.binding.emptyCache();
  }

  /** nativeBytes: held by live tensors; nativeCachedBytes: freed, kept for reuse (see emptyCache). */
  override memory(): {
    unreliable: boolean;
    reasons: string[];
    nativeBytes: number;
    nativePeakBytes: number;
    nativeCachedBytes: number;
  } {
    const s = this.binding.stats();
    return {
      unreliable: false,
      reasons: [],
      nativeBytes: s.bytes,
      nativePeakBytes: s.peakBytes,
      nativeCachedBytes: s.cachedBytes,
    };
  }
}
