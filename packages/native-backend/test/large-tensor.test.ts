import { spawnSync } from "node:child_process";
import { describe, expect, test } from "vitest";
import { tryLoadNativeBinding } from "../src/index.js";

const available = tryLoadNativeBinding().binding !== null;

// One float32 tensor over 4 GiB (1.1e9 elements, 4.4 GB) on the native heap: filled, summed, its max
// taken, disposed, and the native memory back where it was. Run in a child process, so that a crash in
// the addon fails this test (with its signal and output) instead of taking the test worker down, and so
// that only this one big tensor is alive in that process. Needs about 5 GB of free memory.
const SCRIPT = `
import * as tf from "@tensorflow/tfjs";
import { nativeBackendInstance, registerNativeBackend } from "./src/index.ts";
registerNativeBackend();
await tf.setBackend("native");
const be = nativeBackendInstance();
const n = 1_100_000_000;
const before = be.memory().nativeBytes;
const big = tf.fill([n], 1.5);
const held = be.memory().nativeBytes - before;
const s = tf.sum(big);
const m = tf.max(big);
const sum = s.dataSync()[0];
const max = m.dataSync()[0];
tf.dispose([big, s, m]);
console.log(JSON.stringify({ held, sum, max, after: be.memory().nativeBytes - before, tensors: tf.memory().numTensors }));
`;

describe.runIf(available)("native backend: a tensor larger than 4 GiB", () => {
  test("tf.fill([1_100_000_000], 1.5) → sum, max → dispose", { timeout: 180_000 }, () => {
    const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", SCRIPT], {
      encoding: "utf8",
      cwd: new URL("..", import.meta.url).pathname,
      maxBuffer: 1 << 20,
    });
    const output = `${r.stdout}\n${r.stderr}`.trim().slice(-2000);
    expect({ status: r.status, signal: r.signal }, output).toEqual({ status: 0, signal: null });
    const res = JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}");
    expect(res.held).toBeGreaterThanOrEqual(1_100_000_000 * 4);
    expect(res.sum).toBe(1.65e9); // a float32 (a multiple of 128), summed exactly in double
    expect(res.max).toBe(1.5);
    expect(res.after).toBe(0);
    expect(res.tensors).toBe(0);
  });
});
