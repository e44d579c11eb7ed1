import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, test } from "vitest";
import { BackendUnavailableError, describeBackend, setBackend } from "../src/index";

function isNativeBackendBuilt(): boolean {
  try {
    const pkg = createRequire(import.meta.url).resolve("@biomed-llama/native-backend/package.json");
    return existsSync(join(dirname(pkg), "build", "Release", "native_backend.node"));
  } catch {
    return false;
  }
}

describe("kernels registered for wasm", () => {
  beforeAll(async () => {
    expect(await setBackend("wasm")).toBe("wasm");
  });

  test("UnsortedSegmentSum equals a plain loop (repeats, out-of-range ids dropped)", () => {
    const ids = [3, 0, 3, 7, 1, 3, -1];
    const rows = ids.length;
    const inner = 5;
    const x = Float32Array.from({ length: rows * inner }, (_, i) => Math.sin(i) * 10);
    const expected = new Float32Array(6 * inner);
    ids.forEach((s, r) => {
      if (s >= 0 && s < 6) for (let j = 0; j < inner; j++) expected[s * inner + j] += x[r * inner + j];
    });
    const out = tf.unsortedSegmentSum(tf.tensor2d(x, [rows, inner]), tf.tensor1d(ids, "int32"), 6);
    expect(out.shape).toEqual([6, inner]);
    const got = out.dataSync();
    for (let i = 0; i < expected.length; i++) expect(got[i]).toBeCloseTo(expected[i], 5);
  });

  test("embedding gradient (gather → UnsortedSegmentSum) matches the cpu backend", async () => {
    const run = () =>
      tf.tidy(() => {
        const table = tf.tensor2d(
          Float32Array.from({ length: 40 }, (_, i) => i / 7),
          [10, 4],
        );
        const ids = tf.tensor2d(
          [
            [1, 2, 1],
            [9, 1, 0],
          ],
          [2, 3],
          "int32",
        );
        const w = tf.tensor3d(
          Float32Array.from({ length: 24 }, (_, i) => Math.cos(i)),
          [2, 3, 4],
        );
        return tf
          .grads((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, ids), w)))([table])[0]
          .dataSync();
      });
    const wasm = run();
    await setBackend("cpu");
    const cpu = run();
    await setBackend("wasm");
    expect(wasm.length).toBe(40);
    for (let i = 0; i < 40; i++) expect(wasm[i]).toBeCloseTo(cpu[i], 5);
    expect(Math.abs(wasm[4])).toBeGreaterThan(0.1); // row 1 used three times
  });

  test('OneHot honours dtype "float32" (stock wasm kernel writes int32 bits)', () => {
    const t = tf.oneHot(tf.tensor1d([2, 0], "int32"), 3, 1, 0, "float32");
    expect(t.dtype).toBe("float32");
    expect(Array.from(t.dataSync())).toEqual([0, 0, 1, 1, 0, 0]);
    expect(Array.from(tf.oneHot(tf.tensor1d([1], "int32"), 2).dataSync())).toEqual([0, 1]);
  });

  test("Identity shares the buffer (no copy) and keeps it alive until the last holder is disposed", () => {
    const buffers = () => (tf.memory() as { numDataBuffers: number }).numDataBuffers;
    const before = buffers();
    const x = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
    const y = tf.clone(x); // the Identity kernel
    // one buffer for both (the stock kernel allocated and copied a second one)
    expect((y as unknown as { dataId: unknown }).dataId).toBe((x as unknown as { dataId: unknown }).dataId);
    expect(buffers() - before).toBe(1);
    x.dispose();
    expect(Array.from(y.dataSync())).toEqual([1, 2, 3, 4, 5, 6]);
    const z = tf.add(y, 1); // a kernel reading the shared buffer after its first owner is gone
    expect(Array.from(z.dataSync())).toEqual([2, 3, 4, 5, 6, 7]);
    tf.dispose([y, z]);
    expect(buffers()).toBe(before);
    // strings are not on the wasm heap: the stock kernel still handles them
    const s = tf.clone(tf.tensor1d(["a", "bc"], "string"));
    expect(s.dataSync()).toEqual(["a", "bc"]);
  });
});

describe("backend selection", () => {
  const native = ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"].some((m) => {
    try {
      createRequire(import.meta.url).resolve(m);
      return true;
    } catch {
      return false;
    }
  });

  // The native backend is built wherever CI runs (setup installs oneDNN).
  const nativeBackend = process.env.CI !== undefined || isNativeBackendBuilt();

  test('"auto" picks TensorFlow when installed, else our native backend, else wasm', async () => {
    expect(await setBackend("auto")).toBe(native ? "tensorflow" : nativeBackend ? "native" : "wasm");
  });

  test('"auto" without the native backend falls back to wasm and the log line says why', async () => {
    process.env.BIOMED_LLAMA_NATIVE = "0";
    try {
      if (!native) expect(await setBackend("auto")).toBe("wasm");
      expect(await describeBackend()).toMatch(
        /native backend unavailable: turned off by BIOMED_LLAMA_NATIVE=0/,
      );
      await expect(setBackend("native")).rejects.toThrow(
        /backend "native": turned off by BIOMED_LLAMA_NATIVE=0/,
      );
    } finally {
      delete process.env.BIOMED_LLAMA_NATIVE;
    }
    if (nativeBackend) {
      expect(await setBackend("native")).toBe("native");
      expect(await describeBackend()).toMatch(/^native \(oneDNN [\d.]+, \w+, \d+ threads?, matmul f32\)$/);
    }
  });

  test.skipIf(native)(
    '"tensorflow" without tfjs-node fails with a typed error saying what to install',
    async () => {
      await expect(setBackend("tensorflow")).rejects.toThrow(BackendUnavailableError);
      await expect(setBackend("tensorflow")).rejects.toThrow(/@tensorflow\/tfjs-node/);
      await expect(setBackend("gpu" as "cpu")).rejects.toThrow(/unknown backend "gpu"/);
      expect(await setBackend("cpu")).toBe("cpu");
    },
  );
});

describe("UnsortedSegmentSum on cpu", () => {
  test("ours replaces the stock per-segment kernel and sums rows correctly", async () => {
    await setBackend("cpu");
    // The stock kernel masks the whole input once per segment (O(vocab × tokens × hidden)).
    expect(tf.getKernel("UnsortedSegmentSum", "cpu")?.kernelFunc.name).toBe("cpuSegmentSum");
    const ids = tf.tensor1d([5, 31999, 5, 0], "int32");
    const x = tf.tensor2d(
      Float32Array.from({ length: 4 * 3 }, (_, i) => i + 1),
      [4, 3],
    );
    let out: tf.Tensor | undefined;
    const info = await tf.profile(() => {
      out = tf.unsortedSegmentSum(x, ids, 32000);
    });
    expect(info.kernels.length).toBe(1);
    const o = (out as tf.Tensor).dataSync();
    expect(Array.from(o.slice(0, 3))).toEqual([10, 11, 12]);
    expect(Array.from(o.slice(15, 18))).toEqual([1 + 7, 2 + 8, 3 + 9]);
    expect(Array.from(o.slice(31999 * 3))).toEqual([4, 5, 6]);
    tf.dispose([ids, x, out as tf.Tensor]);
  });
});
