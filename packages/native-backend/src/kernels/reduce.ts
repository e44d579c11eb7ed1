import * as tf from "@tensorflow/tfjs";
import type { NativeBackend } from "../backend.js";
import { transposeInfo } from "./layout.js";
import { type NativeKernel, normAxes, orderedAxes } from "./util.js";

// Op codes of src/native/reduce.c.
const OPS = { Sum: 0, Mean: 1, Max: 2, Min: 3, Prod: 4, All: 5, Any: 6 } as const;
type ReduceName = keyof typeof OPS;

/**
 * x reduced over `axes` (non-negative, unique, in the order the caller gave them) as [outer, red, inner]:
 * contiguous increasing axes directly, others after one transpose that moves them last in the given
 * order. That is the cpu kernel's permutation (backend_util.getAxesPermutation), so the elements of each
 * output are accumulated in the cpu's order and float sums round the same way (an order-dependent sum,
 * e.g. one with ±3e38 in it, then still matches). Returns the output (its shape with or without kept axes).
 */
export function reduceAxes(
  backend: NativeBackend,
  name: ReduceName,
  x: tf.TensorInfo,
  axes: number[],
  keepDims: boolean,
): tf.TensorInfo {
  const r = x.shape.length;
  const outShape = keepDims
    ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d))
    : x.shape.filter((_, i) => !axes.includes(i));
  const increasing = axes.every((a, i) => i === 0 || a > axes[i - 1]);
  const contiguous = axes.length === 0 || (increasing && axes[axes.length - 1] - axes[0] === axes.length - 1);
  let src = x;
  let temp: tf.TensorInfo | null = null;
  let first = axes[0] ?? r;
  let last = axes[axes.length - 1] ?? r - 1;
  if (!contiguous) {
    const keep = [...Array(r).keys()].filter((i) => !axes.includes(i));
    temp = transposeInfo(backend, x, [...keep, ...axes]);
    src = temp;
    first = keep.length;
    last = r - 1;
  }
  const outer = tf.util.sizeFromShape(src.shape.slice(0, first));
  const red = axes.length === 0 ? 1 : tf.util.sizeFromShape(src.shape.slice(first, last + 1));
  const inner = tf.util.sizeFromShape(src.shape.slice(last + 1));
  const dtype = x.dtype;
  const out = backend.output<Float32Array | Int32Array | Uint8Array>(outShape, dtype);
  const values = dtype === "float32" ? backend.f32(src) : backend.stored(src);
  backend.binding.reduce(OPS[name], values, out.values, outer, red, inner);
  if (temp) backend.disposeData(temp.dataId);
  return out.info;
}

export function reduceKernel(name: ReduceName): NativeKernel {
  return ({ inputs, backend, attrs }) => {
    const { x } = inputs as { x: tf.TensorInfo };
    // Max names its axes reductionIndices; the others name them axis.
    const { axis, reductionIndices, keepDims } = attrs as {
      axis?: number | number[];
      reductionIndices?: number | number[];
      keepDims?: boolean;
    };
    const logical = name === "All" || name === "Any";
    if (logical ? x.dtype !== "bool" : x.dtype !== "float32" && (x.dtype !== "int32" || name === "Mean"))
      return null;
    return reduceAxes(
      backend,
      name,
      x,
      orderedAxes(axis ?? reductionIndices, x.shape.length),
      keepDims ?? false,
    );
  };
}

export const reduceKernels = Object.keys(OPS) as ReduceName[];

export function argKernel(isMax: boolean): NativeKernel {
  return ({ inputs, backend, attrs }) => {
    const { x } = inputs as { x: tf.TensorInfo };
    const axes = normAxes((attrs as { axis: number | number[] }).axis, x.shape.length);
    if (x.dtype !== "float32" || axes.length !== 1) return null;
    const a = axes[0];
    const out = backend.output<Int32Array>(
      x.shape.filter((_, i) => i !== a),
      "int32",
    );
    backend.binding.argReduce(
      isMax,
      backend.f32(x),
      out.values,
      tf.util.sizeFromShape(x.shape.slice(0, a)),
      x.shape[a],
      tf.util.sizeFromShape(x.shape.slice(a + 1)),
    );
    return out.info;
  };
}

/** Softmax over the last axis (tfjs only ever asks for dim = -1 / last). */
export const softmax: NativeKernel = ({ inputs, backend, attrs }) => {
  const { logits } = inputs as { logits: tf.TensorInfo };
  const r = logits.shape.length;
  const dim = (attrs as { dim: number }).dim;
  if (logits.dtype !== "float32" || r === 0 || (dim !== -1 && dim !== r - 1)) return null;
  const cols = logits.shape[r - 1];
  const out = backend.output(logits.shape);
  backend.binding.softmax(
    backend.f32(logits),
    out.values,
    tf.util.sizeFromShape(logits.shape) / Math.max(cols, 1),
    cols,
    false,
  );
  return out.info;
};
