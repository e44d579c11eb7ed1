import * as tf from "@tensorflow/tfjs";
import type { NativeBackend } from "../backend.js";
import { broadcastStrides, type NativeKernel } from "./util.js";

// Op codes of src/native/elementwise.c.
const BINARY = {
  Add: 0,
  Sub: 1,
  Multiply: 2,
  RealDiv: 3,
  Maximum: 4,
  Minimum: 5,
  Pow: 6,
  SquaredDifference: 7,
  Less: 8,
  LessEqual: 9,
  Greater: 10,
  GreaterEqual: 11,
  Equal: 12,
  NotEqual: 13,
  FloorDiv: 14,
  Mod: 15,
  Atan2: 16,
} as const;
const COMPARISONS = new Set(["Less", "LessEqual", "Greater", "GreaterEqual", "Equal", "NotEqual"]);
const FLOAT_ONLY = new Set(["RealDiv", "Pow", "SquaredDifference", "Atan2"]);

const UNARY = {
  Neg: 0,
  Exp: 1,
  Log: 2,
  Sqrt: 3,
  Rsqrt: 4,
  Sigmoid: 5,
  Square: 6,
  Abs: 7,
  Relu: 8,
  Tanh: 9,
  Reciprocal: 10,
  Sign: 11,
  Floor: 12,
  Ceil: 13,
  Round: 14,
  Sin: 15,
  Cos: 16,
  Log1p: 17,
  Expm1: 18,
  Softplus: 19,
  Erf: 20,
  Step: 21,
  IsNan: 22,
  IsInf: 23,
  IsFinite: 24,
} as const;
const PREDICATES = new Set(["IsNan", "IsInf", "IsFinite"]);

function elementValues(backend: NativeBackend, t: tf.TensorInfo) {
  return t.dtype === "float32" ? backend.f32(t) : backend.stored(t);
}

/** out = a ∘ b with NumPy broadcasting, into a new tensor. */
export function binaryOp(
  backend: NativeBackend,
  name: keyof typeof BINARY,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
) {
  const shape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
  const out = backend.output<Float32Array | Int32Array | Uint8Array>(
    shape,
    COMPARISONS.has(name) ? "bool" : a.dtype,
  );
  backend.binding.binary(
    BINARY[name],
    elementValues(backend, a),
    elementValues(backend, b),
    out.values,
    shape,
    broadcastStrides(a.shape, shape),
    broadcastStrides(b.shape, shape),
  );
  return out;
}

export function binaryKernel(name: keyof typeof BINARY): NativeKernel {
  return ({ inputs, backend }) => {
    const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    if (a.dtype !== b.dtype) return null;
    // The cpu kernel's FloorDiv always outputs int32 (Math.floor(a / b) in double, then ToInt32), also
    // for float32 inputs: not a hot kernel, so float32 FloorDiv stays on it.
    if (name === "FloorDiv" && a.dtype !== "int32") return null;
    const ok =
      a.dtype === "float32" ||
      (a.dtype === "int32" && !FLOAT_ONLY.has(name)) ||
      (a.dtype === "bool" && COMPARISONS.has(name));
    if (!ok || a.shape.length > 8 || b.shape.length > 8) return null;
    return binaryOp(backend, name, a, b).info;
  };
}

export function unaryKernel(name: keyof typeof UNARY): NativeKernel {
  return ({ inputs, backend, attrs }) => {
    const { x } = inputs as { x: tf.TensorInfo };
    if (x.dtype !== "float32") return null;
    const out = backend.output<Float32Array | Uint8Array>(x.shape, PREDICATES.has(name) ? "bool" : "float32");
    backend.binding.unary(
      UNARY[name],
      backend.f32(x),
      out.values,
      Number((attrs as { alpha?: number } | undefined)?.alpha ?? 0),
    );
    return out.info;
  };
}

export const binaryKernels = Object.keys(BINARY) as (keyof typeof BINARY)[];
export const unaryKernels = Object.keys(UNARY) as (keyof typeof UNARY)[];

export const cast: NativeKernel = ({ inputs, backend, attrs }) => {
  const { x } = inputs as { x: tf.TensorInfo };
  const { dtype } = attrs as { dtype: tf.DataType };
  const kinds = ["float32", "int32", "bool"];
  if (!kinds.includes(x.dtype) || !kinds.includes(dtype)) return null;
  if (dtype === x.dtype && !backend.isBf16(x.dataId)) {
    backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype };
  }
  const out = backend.output<Float32Array | Int32Array | Uint8Array>(x.shape, dtype);
  backend.binding.cast(elementValues(backend, x), out.values);
  return out.info;
};

export const select: NativeKernel = ({ inputs, backend }) => {
  const { condition, t, e } = inputs as { condition: tf.TensorInfo; t: tf.TensorInfo; e: tf.TensorInfo };
  if (t.dtype !== e.dtype || (t.dtype !== "float32" && t.dtype !== "int32")) return null;
  const size = tf.util.sizeFromShape(t.shape);
  const condSize = tf.util.sizeFromShape(condition.shape);
  if (condSize === 0 || size % condSize !== 0) return null;
  const out = backend.output<Float32Array | Int32Array>(t.shape, t.dtype);
  backend.binding.select(
    backend.stored(condition) as Uint8Array,
    elementValues(backend, t),
    elementValues(backend, e),
    out.values,
    size / condSize,
  );
  return out.info;
};

export const fill: NativeKernel = ({ backend, attrs }) => {
  const { shape, value, dtype } = attrs as { shape: number[]; value: number; dtype: tf.DataType };
  const dt = dtype ?? (typeof value === "number" ? "float32" : undefined);
  if (dt !== "float32" && dt !== "int32" && dt !== "bool") return null;
  const out = backend.output<Float32Array | Int32Array | Uint8Array>(shape, dt);
  backend.binding.fill(out.values, Number(value));
  return out.info;
};

function filled(value: number): NativeKernel {
  return ({ inputs, backend }) => {
    const { x } = inputs as { x: tf.TensorInfo };
    if (x.dtype !== "float32" && x.dtype !== "int32" && x.dtype !== "bool") return null;
    const out = backend.output<Float32Array | Int32Array | Uint8Array>(x.shape, x.dtype, value === 0);
    if (value !== 0) backend.binding.fill(out.values, value);
    return out.info;
  };
}
export const zerosLike = filled(0);
export const onesLike = filled(1);

/** AddN: a running sum written into one output (elementwise, so in place is safe). */
export const addN: NativeKernel = ({ inputs, backend }) => {
  const tensors = Object.values(inputs) as tf.TensorInfo[];
  if (tensors.length === 0 || tensors.some((t) => t.dtype !== "float32")) return null;
  const shape = tensors[0].shape;
  if (tensors.some((t) => !tf.util.arraysEqual(t.shape, shape))) return null;
  const out = backend.output(shape);
  if (tensors.length === 1) {
    out.values.set(backend.f32(tensors[0]));
    return out.info;
  }
  const strides = broadcastStrides(shape, shape);
  backend.binding.binary(
    BINARY.Add,
    backend.f32(tensors[0]),
    backend.f32(tensors[1]),
    out.values,
    shape,
    strides,
    strides,
  );
  for (let i = 2; i < tensors.length; i++)
    backend.binding.binary(
      BINARY.Add,
      out.values,
      backend.f32(tensors[i]),
      out.values,
      shape,
      strides,
      strides,
    );
  return out.info;
};
