import * as tf from "@tensorflow/tfjs";
import type { NativeBackend } from "../backend.js";

/** A kernel of ours: returns null to hand the call to the cpu backend's kernel of the same name. */
export type NativeKernel = (args: {
  inputs: tf.NamedTensorInfoMap;
  backend: NativeBackend;
  attrs: tf.NamedAttrMap;
}) => tf.TensorInfo | tf.TensorInfo[] | null;

/** Row-major element strides of a dense tensor, the last axis' 1 included (tfjs's computeStrides leaves it out). */
export const stridesOf = (shape: readonly number[]): number[] =>
  shape.length === 0 ? [] : [...tf.util.computeStrides(shape as number[]), 1];

/** Strides that read a dense `shape` as the (right-aligned, NumPy-broadcast) `outShape`: 0 on broadcast axes. */
export function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const own = stridesOf(shape);
  const off = outShape.length - shape.length;
  return outShape.map((_, i) => (i < off || shape[i - off] === 1 ? 0 : own[i - off]));
}

/** Non-negative, sorted, unique axes. */
export function normAxes(axis: number | number[] | undefined, rank: number): number[] {
  const list =
    axis === undefined || axis === null ? [...Array(rank).keys()] : Array.isArray(axis) ? axis : [axis];
  return [...new Set(list.map((a) => (a < 0 ? a + rank : a)))].sort((a, b) => a - b);
}

/** Non-negative, unique (first occurrence kept), in the order given: how the cpu kernels take axes. */
export function orderedAxes(axis: number | number[] | undefined, rank: number): number[] {
  const list =
    axis === undefined || axis === null ? [...Array(rank).keys()] : Array.isArray(axis) ? axis : [axis];
  return [...new Set(list.map((a) => (a < 0 ? a + rank : a)))];
}
