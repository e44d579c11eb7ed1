// The native AdamW loop (native-backend's src/native/optim.c) against this package's JS loop, which is
// itself bit-identical to torch 1.13 (golden.test.ts): every element of params and both moments must
// match exactly, over many steps, with and without a per-element decay mask, at sizes where the
// addon's OpenMP threads split the work.
import { afterEach, describe, expect, test } from "vitest";
import { AdamW, type ParamShard } from "../src/index.js";
import { nativeAdamW, resetNativeAdamW } from "../src/native-kernel.js";

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function run(useNative: boolean, n: number, masked: boolean) {
  process.env.BIOMED_LLAMA_NATIVE_ADAMW = useNative ? "1" : "0";
  resetNativeAdamW();
  const r = rng(7);
  const param = Float32Array.from({ length: n }, () => (r() - 0.5) * 0.2);
  const decayMask = masked ? Uint8Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 0 : 1)) : undefined;
  const opt = new AdamW({ lr: 1e-3, betas: [0.9, 0.95], eps: 1e-8, weightDecay: 0.1 });
  for (let step = 0; step < 12; step++) {
    // Gradients spanning many magnitudes, with exact zeros and tiny values.
    const grad = Float32Array.from({ length: n }, (_, i) =>
      i % 97 === 0 ? 0 : (r() - 0.5) * 10 ** Math.floor(r() * 8 - 6),
    );
    const shard: ParamShard = { key: "w", param, grad, decayMask };
    opt.step([shard], 1e-3 * (1 + step / 4));
  }
  const s = opt.getState("w")!;
  return { param, m: s.expAvg, v: s.expAvgSq };
}

afterEach(() => {
  delete process.env.BIOMED_LLAMA_NATIVE_ADAMW;
  resetNativeAdamW();
});

describe("native AdamW", () => {
  test("loads where the native backend is built (CI builds it)", () => {
    resetNativeAdamW();
    if (process.env.CI) expect(nativeAdamW()).not.toBeNull();
  });

  for (const masked of [false, true])
    test(`is bit-identical to the JS loop (${masked ? "decay mask" : "no mask"}, 12 steps, 300k elements)`, (ctx) => {
      resetNativeAdamW();
      if (!nativeAdamW()) ctx.skip();
      const js = run(false, 300_003, masked);
      const nat = run(true, 300_003, masked);
      for (const k of ["param", "m", "v"] as const) {
        const a = js[k];
        const b = nat[k];
        let diff = 0;
        for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) diff++;
        expect(diff, `${k}: elements that differ`).toBe(0);
      }
    });
});
