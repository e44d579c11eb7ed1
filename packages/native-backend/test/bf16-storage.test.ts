// Tensors held as bfloat16 (2 bytes per value) read as the float32 values of those bfloat16 numbers by
// every kernel: the ones that widen inside (matmul, gather, the strided copies behind transpose, slice,
// concat, pad, tile) and the ones that get a widened temporary (everything else). The reference is the
// same values as an ordinary float32 tensor.
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, test } from "vitest";
import {
  type NativeBackend,
  nativeBackendInstance,
  registerNativeBackend,
  tryLoadNativeBinding,
} from "../src/index.js";

const available = tryLoadNativeBinding().binding !== null;

describe.runIf(available)("bfloat16-held tensors", () => {
  let backend: NativeBackend;
  const shape = [6, 10];
  const bits = Uint16Array.from(
    { length: 60 },
    (_, i) => 0x3f80 + ((i * 37) % 200) - 100 + (i % 2 ? 0x8000 : 0),
  );
  const wide = Float32Array.from(bits, (b) => new Float32Array(new Uint32Array([b << 16]).buffer)[0]);
  beforeAll(async () => {
    registerNativeBackend();
    await tf.setBackend("native");
    backend = nativeBackendInstance() as NativeBackend;
  });
  const held = () => {
    const values = backend.allocBf16(bits.length);
    values.set(bits);
    return tf.engine().makeTensorFromTensorInfo(backend.adoptBf16TensorInfo(values, shape)) as tf.Tensor2D;
  };

  test.each([
    ["matMul (B operand, transposed)", (x: tf.Tensor2D) => tf.matMul(tf.ones([3, 10]), x, false, true)],
    ["matMul (A operand)", (x: tf.Tensor2D) => tf.matMul(x, tf.ones([10, 4]))],
    ["gather rows", (x: tf.Tensor2D) => tf.gather(x, tf.tensor1d([5, 0, 3], "int32"))],
    ["transpose", (x: tf.Tensor2D) => tf.transpose(x)],
    ["slice", (x: tf.Tensor2D) => tf.slice(x, [1, 2], [3, 5])],
    ["concat", (x: tf.Tensor2D) => tf.concat([x, x], 1)],
    [
      "pad",
      (x: tf.Tensor2D) =>
        tf.pad(
          x,
          [
            [1, 0],
            [0, 2],
          ],
          7,
        ),
    ],
    ["tile", (x: tf.Tensor2D) => tf.tile(x, [2, 1])],
    ["add (a widened temporary)", (x: tf.Tensor2D) => tf.add(x, 1)],
    ["sum", (x: tf.Tensor2D) => tf.sum(x, 0)],
    ["reshape", (x: tf.Tensor2D) => tf.reshape(x, [-1, 3])],
    ["clone (Identity)", (x: tf.Tensor2D) => tf.clone(x)],
  ])("%s reads the bfloat16 values", (_, f) => {
    const x = held();
    const ref = tf.tensor2d(wide, shape as [number, number]);
    expect(Array.from(f(x).dataSync())).toEqual(Array.from(f(ref).dataSync()));
    expect(Array.from(x.dataSync())).toEqual(Array.from(wide));
    tf.dispose([x, ref]);
  });

  test("reshape and clone share the bfloat16 data (no widened float32 copy)", () => {
    const x = held();
    const r = tf.reshape(x, [3, -1]);
    const c = tf.clone(x);
    for (const t of [r, c]) {
      expect(backend.isBf16(t.dataId)).toBe(true);
      expect(t.dataId).toBe(x.dataId);
    }
    expect(r.shape).toEqual([3, 20]);
    tf.dispose([x, r]);
    expect(Array.from(c.dataSync())).toEqual(Array.from(wide)); // still alive through the clone
    c.dispose();
  });
});
