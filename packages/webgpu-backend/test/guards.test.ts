// What this package adds to tfjs's WebGPU backend, on whatever adapter the machine has (Mesa's llvmpipe
// in CI, which setup installs; no adapter there is a failure): the adapter report, the binding-limit
// check before a dispatch, the refusal of synchronous reads, and device errors turned into exceptions.
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, test } from "vitest";
import {
  type AdapterReport,
  describeAdapter,
  NoGpuAdapterError,
  registerWebGpuBackend,
  requestGpuAdapter,
  WebGpuDeviceError,
  WebGpuLimitError,
  WebGpuSyncReadError,
} from "../src/index";

let report: AdapterReport | null = null;
beforeAll(async () => {
  try {
    report = await registerWebGpuBackend({ allowSoftware: true });
  } catch (e) {
    if (process.env.CI) throw e;
  }
});

describe("webgpu backend guards", () => {
  test("the adapter is reported; a software one is refused unless allowed", async (ctx) => {
    if (!report) ctx.skip();
    const r = report as AdapterReport;
    expect(r.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 * 2 ** 20);
    expect(describeAdapter(r)).toMatch(/, binding limit \d+ MiB$/);
    if (r.software) {
      await expect(requestGpuAdapter()).rejects.toThrow(NoGpuAdapterError);
      await expect(requestGpuAdapter()).rejects.toThrow(/only a software adapter: .*software/);
      await expect(registerWebGpuBackend()).rejects.toThrow(NoGpuAdapterError);
    }
    expect(await tf.setBackend("webgpu")).toBe(true);
  });

  test("the device gets the adapter's largest limits, not WebGPU's defaults", async (ctx) => {
    if (!report) ctx.skip();
    await tf.setBackend("webgpu");
    const device = (tf.backend() as unknown as { device: { limits: Record<string, number> } }).device;
    expect(device.limits.maxStorageBufferBindingSize).toBe(report?.maxStorageBufferBindingSize);
    expect(device.limits.maxBufferSize).toBe(report?.maxBufferSize);
  });

  test("a tensor over the binding limit fails before the dispatch, naming the kernel, shape and limit", async (ctx) => {
    if (!report) ctx.skip();
    await tf.setBackend("webgpu");
    const limit = (report as AdapterReport).maxStorageBufferBindingSize;
    const n = limit / 4 + 1024;
    const big = tf.zeros([n]);
    expect(() => tf.add(big, 1)).toThrow(WebGpuLimitError);
    expect(() => tf.add(big, 1)).toThrow(
      new RegExp(
        `^webgpu: \\w+ (input 0|output) \\[${n}\\] (float32 )?is [\\d.]+ MiB, over this adapter's storage binding limit of [\\d.]+ MiB`,
      ),
    );
    big.dispose();
    // Under the limit the same kernel works.
    const ok = tf.add(tf.zeros([1024]), 1);
    expect((await ok.data())[1023]).toBe(1);
    ok.dispose();
  });

  test("a synchronous read of a GPU tensor says what to use instead", async (ctx) => {
    if (!report) ctx.skip();
    await tf.setBackend("webgpu");
    tf.env().set("WEBGPU_CPU_FORWARD", false);
    const t = tf.mul(tf.ones([4096]), 3);
    expect(() => t.dataSync()).toThrow(WebGpuSyncReadError);
    expect(() => t.dataSync()).toThrow(/use await tensor\.data\(\)/);
    expect((await t.data())[0]).toBe(3);
    t.dispose();
  });

  // Last: the device error poisons the backend for the rest of this file.
  test("a device error makes every later read throw instead of returning what the buffer held", async (ctx) => {
    if (!report) ctx.skip();
    await tf.setBackend("webgpu");
    const t = tf.mul(tf.ones([4096]), 2);
    expect((await t.data())[0]).toBe(2);
    // An invalid bind group (a binding larger than the limit), made directly on tfjs's device: WebGPU
    // reports it asynchronously and carries on.
    const device = (tf.backend() as unknown as { device: GPUDeviceLike }).device;
    const limit = (report as AdapterReport).maxStorageBufferBindingSize;
    const buffer = device.createBuffer({ size: limit + 1024, usage: 0x80 /* STORAGE */ });
    const module = device.createShaderModule({
      code: "@group(0) @binding(0) var<storage, read_write> b: array<f32>; @compute @workgroup_size(1) fn main() { b[0] = 1.0; }",
    });
    const pipeline = device.createComputePipeline({
      layout: "auto",
      compute: { module, entryPoint: "main" },
    });
    device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [{ binding: 0, resource: { buffer } }],
    });
    await new Promise((r) => setTimeout(r, 200));
    // Every later kernel and read refuses, naming the device's error.
    expect(() => tf.mul(t, 5)).toThrow(WebGpuDeviceError);
    expect(() => tf.mul(t, 5)).toThrow(
      /the device reported an error, results since are unusable: .*binding size/i,
    );
    await expect(t.data()).rejects.toThrow(WebGpuDeviceError);
    buffer.destroy();
  });
});

interface GPUDeviceLike {
  createBuffer(d: { size: number; usage: number }): { destroy(): void };
  createShaderModule(d: { code: string }): unknown;
  createComputePipeline(d: unknown): { getBindGroupLayout(i: number): unknown };
  createBindGroup(d: unknown): unknown;
}
