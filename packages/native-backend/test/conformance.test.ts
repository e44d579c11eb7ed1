// Kernel conformance of the "native" backend against tfjs's "cpu" backend: the shared suite in
// @biomed-llama/kernel-conformance (its header explains the cases and tolerances), held to each case's
// own tolerance with no documented exceptions, plus the "wasm" backend as a second opinion (its own
// differences from cpu are checked against KNOWN_WASM_DIFFS there), a native-memory leak check on every
// case where cpu throws, native's erf against an accurate erf, and native's memory accounting below.
import { defineConformanceSuite } from "@biomed-llama/kernel-conformance";
import * as tf from "@tensorflow/tfjs";
import { describe, expect, test } from "vitest";
import { nativeBackendInstance, registerNativeBackend, tryLoadNativeBinding } from "../src/index.js";

defineConformanceSuite({
  backend: "native",
  available: tryLoadNativeBinding().binding !== null,
  setup: async () => {
    registerNativeBackend();
  },
  memoryBytes: () => nativeBackendInstance()?.memory().nativeBytes ?? 0,
  wasm: { load: () => import("@tensorflow/tfjs-backend-wasm") },
  accurateErf: true,
  extraTests: () => {
    describe("memory", () => {
      test("disposing returns native memory; tidy leaks nothing; dataSync copies outlive the tensor", async () => {
        await tf.setBackend("native");
        const be = nativeBackendInstance();
        if (!be) throw new Error("native backend not created");
        const bytes0 = be.memory().nativeBytes;
        const tensors0 = tf.memory().numTensors;
        const t = tf.fill([1000, 1000], 2.5);
        const u = tf.add(t, 1);
        expect(be.memory().nativeBytes).toBeGreaterThanOrEqual(bytes0 + 8_000_000);
        const copy = u.dataSync();
        t.dispose();
        u.dispose();
        expect(be.memory().nativeBytes).toBe(bytes0);
        expect(tf.memory().numTensors).toBe(tensors0);
        // The copy is plain JS memory: still readable after the tensor's native block was freed.
        expect(copy.length).toBe(1_000_000);
        expect(copy[0]).toBe(3.5);
        expect(copy[999_999]).toBe(3.5);

        const kept = tf.tidy(() => {
          const a = tf.randomNormal([64, 64]);
          const b = tf.matMul(a, a, false, true);
          const s = tf.softmax(b);
          const g = tf.grad((z: tf.Tensor) => tf.sum(tf.log(tf.softmax(z))))(a);
          const parts = tf.split(tf.concat([s, g], 1), 4, 1);
          tf.gather(parts[0], tf.tensor([1, 2, 3], [3], "int32"));
          return tf.sum(parts[1]);
        });
        expect(tf.memory().numTensors).toBe(tensors0 + 1);
        kept.dispose();
        expect(tf.memory().numTensors).toBe(tensors0);
        expect(be.memory().nativeBytes).toBe(bytes0);

        // A view of a kernel output that later dies (slice, reshape) keeps its own data.
        const base = tf.tensor(
          Float32Array.from({ length: 24 }, (_, i) => i),
          [2, 3, 4],
        );
        const sl = tf.slice(base, [1, 0, 0], [1, 3, 4]);
        const rs = tf.reshape(base, [24]);
        base.dispose();
        expect(Array.from(sl.dataSync().slice(0, 3))).toEqual([12, 13, 14]);
        expect(rs.dataSync()[23]).toBe(23);
        sl.dispose();
        rs.dispose();
        expect(be.memory().nativeBytes).toBe(bytes0);
        await tf.setBackend("cpu");
      });
    });
  },
});
