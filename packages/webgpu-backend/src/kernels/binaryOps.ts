import * as tf from "@tensorflow/tfjs";
import { correctKernel, disposeAll, reshape, type TensorInfo } from "./util.js";

// The binary elementwise kernels of tfjs-backend-webgpu 4.22 (one shader generator, BinaryOpProgram)
// do not compile where the output has rank 5 or 6 and an input has rank 1 ([3] + [1, 4, 4, 2, 3]: its
// broadcast indexing reads a vec5 struct by index, "cannot index type 'vec5'"), and the device error
// poisons every later result. The corrected kernels give every input of lower rank (other than a
// scalar) the output's rank first, with leading 1s, which broadcasts the same and takes the shader path
// that compiles.

export const BINARY_KERNELS = [
  "Add",
  "Sub",
  "Multiply",
  "RealDiv",
  "Maximum",
  "Minimum",
  "Pow",
  "SquaredDifference",
  "FloorDiv",
  "Mod",
  "Atan2",
  "Less",
  "LessEqual",
  "Greater",
  "GreaterEqual",
  "Equal",
  "NotEqual",
  "LogicalAnd",
  "LogicalOr",
] as const;

export function registerBinaryOps(): void {
  for (const name of BINARY_KERNELS)
    correctKernel(name, (original) => (args) => {
      const entries = Object.entries(args.inputs);
      if (entries.length !== 2) return original(args);
      const [sa, sb] = entries.map(([, t]) => t.shape);
      const rank = tf.backend_util.assertAndGetBroadcastShape(sa, sb).length;
      if (rank < 5 || entries.every(([, t]) => t.shape.length === rank || t.shape.length === 0))
        return original(args);
      const temps: TensorInfo[] = [];
      const inputs: Record<string, TensorInfo> = {};
      for (const [key, t] of entries) {
        if (t.shape.length === rank || t.shape.length === 0) inputs[key] = t;
        else {
          const r = reshape(args.backend, t, [...Array(rank - t.shape.length).fill(1), ...t.shape]);
          temps.push(r);
          inputs[key] = r;
        }
      }
      const out = original({ ...args, inputs });
      disposeAll(args.backend, temps);
      return out;
    });
}
