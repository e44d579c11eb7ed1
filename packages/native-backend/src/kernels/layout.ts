import * as tf from "@tensorflow/tfjs";
import type { NativeBackend } from "../backend.js";
import { type NativeKernel, stridesOf } from "./util.js";

const NATIVE_TYPES = new Set(["float32", "int32", "bool"]);

// Every copy reads the stored array: a bfloat16-held tensor is widened by the copy itself (layout.c).
export function transposeInfo(backend: NativeBackend, x: tf.TensorInfo, perm: number[]): tf.TensorInfo {
  const shape = perm.map((p) => x.shape[p]);
  const xs = stridesOf(x.shape);
  const out = backend.output<Float32Array | Int32Array | Uint8Array>(shape, x.dtype);
  backend.binding.copy(
    backend.stored(x),
    out.values,
    shape,
    perm.map((p) => xs[p]),
    0,
    stridesOf(shape),
    0,
  );
  return out.info;
}

export const transpose: NativeKernel = ({ inputs, backend, attrs }) => {
  const { x } = inputs as { x: tf.TensorInfo };
  if (!NATIVE_TYPES.has(x.dtype) || x.shape.length > 8) return null;
  return transposeInfo(backend, x, (attrs as { perm: number[] }).perm);
};

/** A copy of the box [begin, begin + size) of x (the cpu kernel returns a view, which would alias). */
export function sliceInfo(
  backend: NativeBackend,
  x: tf.TensorInfo,
  begin: number[],
  size: number[],
): tf.TensorInfo {
  const xs = stridesOf(x.shape);
  const offset = begin.reduce((acc, b, i) => acc + b * xs[i], 0);
  const out = backend.output<Float32Array | Int32Array | Uint8Array>(size, x.dtype);
  if (tf.util.sizeFromShape(size) > 0)
    backend.binding.copy(backend.stored(x), out.values, size, xs, offset, stridesOf(size), 0);
  return out.info;
}

export const slice: NativeKernel = ({ inputs, backend, attrs }) => {
  const { x } = inputs as { x: tf.TensorInfo };
  if (!NATIVE_TYPES.has(x.dtype) || x.shape.length > 8) return null;
  const { begin, size } = attrs as { begin: number | number[]; size: number | number[] };
  const [b, s] = tf.slice_util.parseSliceParams(x as tf.Tensor, begin, size);
  tf.slice_util.assertParamsValid(x as tf.Tensor, b, s);
  return sliceInfo(backend, x, b, s);
};

export const splitV: NativeKernel = ({ inputs, backend, attrs }) => {
  const { x } = inputs as { x: tf.TensorInfo };
  if (!NATIVE_TYPES.has(x.dtype) || x.shape.length > 8) return null;
  const { numOrSizeSplits, axis } = attrs as { numOrSizeSplits: number | number[]; axis: number };
  const $axis = tf.util.parseAxisParam(axis, x.shape)[0];
  const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, numOrSizeSplits, $axis);
  const begin = new Array(x.shape.length).fill(0);
  return sizes.map((s) => {
    const size = [...x.shape];
    size[$axis] = s;
    const info = sliceInfo(backend, x, begin, size);
    begin[$axis] += s;
    return info;
  });
};

export const concat: NativeKernel = ({ inputs, backend, attrs }) => {
  const tensors = Object.values(inputs) as tf.TensorInfo[];
  if (tensors.length === 0) return null;
  const dtype = tensors[0].dtype;
  if (!NATIVE_TYPES.has(dtype) || tensors.some((t) => t.dtype !== dtype || t.shape.length > 8)) return null;
  const axis = tf.util.parseAxisParam((attrs as { axis: number }).axis, tensors[0].shape)[0];
  const shape = tf.backend_util.computeOutShape(
    tensors.map((t) => t.shape),
    axis,
  );
  const out = backend.output<Float32Array | Int32Array | Uint8Array>(shape, dtype);
  const os = stridesOf(shape);
  let at = 0;
  for (const t of tensors) {
    if (tf.util.sizeFromShape(t.shape) > 0)
      backend.binding.copy(backend.stored(t), out.values, t.shape, stridesOf(t.shape), 0, os, at * os[axis]);
    at += t.shape[axis];
  }
  return out.info;
};

export const padV2: NativeKernel = ({ inputs, backend, attrs }) => {
  const { x } = inputs as { x: tf.TensorInfo };
  if (!NATIVE_TYPES.has(x.dtype) || x.shape.length > 8) return null;
  const { paddings, constantValue } = attrs as { paddings: [number, number][]; constantValue: number };
  const shape = x.shape.map((d, i) => paddings[i][0] + d + paddings[i][1]);
  const out = backend.output<Float32Array | Int32Array | Uint8Array>(shape, x.dtype, constantValue === 0);
  if (constantValue !== 0) backend.binding.fill(out.values, constantValue);
  const os = stridesOf(shape);
  const offset = paddings.reduce((acc, p, i) => acc + p[0] * os[i], 0);
  if (tf.util.sizeFromShape(x.shape) > 0)
    backend.binding.copy(backend.stored(x), out.values, x.shape, stridesOf(x.shape), 0, os, offset);
  return out.info;
};

/** Tile as one strided copy: out viewed as [r0, d0, r1, d1, ...] reads x with stride 0 on each r. */
export const tile: NativeKernel = ({ inputs, backend, attrs }) => {
  const { x } = inputs as { x: tf.TensorInfo };
  const { reps } = attrs as { reps: number[] };
  if (!NATIVE_TYPES.has(x.dtype) || x.shape.length > 4) return null;
  const shape = x.shape.map((d, i) => d * reps[i]);
  const out = backend.output<Float32Array | Int32Array | Uint8Array>(shape, x.dtype);
  if (tf.util.sizeFromShape(shape) === 0) return out.info;
  const xs = stridesOf(x.shape);
  const view = x.shape.flatMap((d, i) => [reps[i], d]);
  const srcStrides = xs.flatMap((s) => [0, s]);
  backend.binding.copy(backend.stored(x), out.values, view, srcStrides, 0, stridesOf(view), 0);
  return out.info;
};

/** GatherV2 (batchDims 0); bfloat16-held rows (an embedding) are widened as they are copied. */
export const gatherV2: NativeKernel = ({ inputs, backend, attrs }) => {
  const { x, indices } = inputs as { x: tf.TensorInfo; indices: tf.TensorInfo };
  const { axis, batchDims } = attrs as { axis: number; batchDims?: number };
  if ((batchDims ?? 0) !== 0 || !NATIVE_TYPES.has(x.dtype) || indices.dtype !== "int32") return null;
  const a = tf.util.parseAxisParam(axis, x.shape)[0];
  const shape = [...x.shape.slice(0, a), ...indices.shape, ...x.shape.slice(a + 1)];
  const out = backend.output<Float32Array | Int32Array | Uint8Array>(shape, x.dtype);
  const bad = backend.binding.gather(
    backend.stored(x),
    backend.stored(indices) as Int32Array,
    out.values,
    tf.util.sizeFromShape(x.shape.slice(0, a)),
    x.shape[a],
    tf.util.sizeFromShape(x.shape.slice(a + 1)),
  );
  if (bad >= 0) {
    backend.disposeData(out.info.dataId);
    const value = (backend.stored(indices) as Int32Array)[bad];
    throw new Error(`GatherV2: the index value ${value} is not in [0, ${x.shape[a] - 1}]`);
  }
  return out.info;
};

export const unsortedSegmentSum: NativeKernel = ({ inputs, backend, attrs }) => {
  const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
  const { numSegments } = attrs as { numSegments: number };
  if (x.dtype !== "float32" || segmentIds.dtype !== "int32" || segmentIds.shape.length !== 1) return null;
  if (x.shape.length === 0 || x.shape[0] !== segmentIds.shape[0]) return null;
  const inner = tf.util.sizeFromShape(x.shape.slice(1));
  const out = backend.output([numSegments, ...x.shape.slice(1)]); // every element is written (or none: inner 0)
  if (inner > 0)
    backend.binding.segmentSum(backend.f32(x), backend.stored(segmentIds) as Int32Array, out.values, inner);
  return out.info;
};

export const oneHot: NativeKernel = ({ inputs, backend, attrs }) => {
  const { indices } = inputs as { indices: tf.TensorInfo };
  const { depth, onValue, offValue, dtype } = attrs as {
    depth: number;
    onValue: number;
    offValue: number;
    dtype: tf.DataType;
  };
  if (indices.dtype !== "int32" || (dtype !== "float32" && dtype !== "int32")) return null;
  const out = backend.output<Float32Array | Int32Array>([...indices.shape, depth], dtype);
  backend.binding.oneHot(backend.stored(indices) as Int32Array, out.values, depth, onValue, offValue);
  return out.info;
};
