import { spawnSync } from "node:child_process";
import { isBlasAddonBuilt } from "@biomed-llama/blas-addon";
import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  blasMatMulStatus,
  describeBackend,
  enableBlasMatMul,
  LlamaForCausalLM,
  resolveConfig,
  setBackend,
} from "../src/index";
import { blasMatMulCalls } from "../src/wasm-blas";
import { expectAllClose, TINY } from "./helpers";

// On a machine with libopenblas-dev the addon is built by `pnpm install`/`pnpm build`; there BLAS
// must be active on wasm (a silent fallback would make every test below compare XNNPACK with cpu).
const built = isBlasAddonBuilt();

/** Run `f` on a backend with the given inputs (copied in), return the outputs' values. */
async function on<T extends tf.Tensor[]>(
  backend: "cpu" | "wasm",
  inputs: { data: Float32Array; shape: number[] }[],
  f: (...xs: tf.Tensor[]) => T,
): Promise<{ shape: number[]; data: Float32Array }[]> {
  await setBackend(backend);
  return tf.tidy(() => {
    const xs = inputs.map((x) => tf.tensor(x.data, x.shape, "float32"));
    return f(...xs).map((y) => ({ shape: y.shape, data: y.dataSync() as Float32Array }));
  });
}

function random(shape: number[], seed: number) {
  let s = seed >>> 0;
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = s / 2 ** 31 - 1;
  }
  return { data, shape };
}

describe.runIf(built)("wasm BatchMatMul on OpenBLAS", () => {
  beforeAll(async () => {
    await setBackend("wasm");
  });
  afterAll(() => {
    enableBlasMatMul(true);
  });

  test("is active, and the backend report says so", async () => {
    const s = blasMatMulStatus();
    expect(s.reason).toBeNull();
    expect(s.active).toBe(true);
    expect(s.library).toMatch(/^OpenBLAS /);
    expect(s.threads).toBeGreaterThanOrEqual(1);
    expect(await describeBackend()).toMatch(/^wasm \(\d+ threads?\) \+ OpenBLAS \S+ \(.*\), \d+ threads?$/);
  });

  test.each([
    ["2-D", [7, 5], [5, 3]],
    ["2-D odd, K = 1", [9, 1], [1, 13]],
    ["rank 3, equal batches", [4, 6, 5], [4, 5, 3]],
    ["rank 3 × shared 2-D (x·Wᵀ)", [3, 6, 5], [5, 4]],
    ["shared 2-D × rank 3", [6, 5], [3, 5, 4]],
    ["rank 4 (attention)", [2, 3, 6, 5], [2, 3, 5, 4]],
    ["rank 4, batch broadcast both ways", [2, 1, 6, 5], [1, 3, 5, 4]],
    ["rank 4 × rank 3 broadcast", [2, 3, 6, 5], [3, 5, 4]],
    ["batch of 1 on one side", [1, 6, 5], [4, 5, 3]],
  ])("%s, all four transpose combinations, equal the cpu backend", async (_, sa, sb) => {
    for (const ta of [false, true])
      for (const tb of [false, true]) {
        // Shapes above are for op(A), op(B); store the transposed ones transposed.
        const stA = ta ? [...sa.slice(0, -2), sa[sa.length - 1], sa[sa.length - 2]] : sa;
        const stB = tb ? [...sb.slice(0, -2), sb[sb.length - 1], sb[sb.length - 2]] : sb;
        const ins = [random(stA, 1 + stA.length), random(stB, 7 + stB.length)];
        const before = blasMatMulCalls();
        const [w] = await on("wasm", ins, (a, b) => [tf.matMul(a, b, ta, tb)]);
        expect(blasMatMulCalls()).toBe(before + 1);
        // Reference: the cpu backend on operands broadcast explicitly to the full batch shape (its
        // own kernel only broadcasts when one side's batch is 1).
        const [c] = await on("cpu", ins, (a, b) => {
          const outer = tf.broadcast_util.assertAndGetBroadcastShape(
            a.shape.slice(0, -2),
            b.shape.slice(0, -2),
          );
          const full = (x: tf.Tensor) => tf.broadcastTo(x, [...outer, ...x.shape.slice(-2)]);
          return [tf.matMul(full(a), full(b), ta, tb)];
        });
        expect(w.shape).toEqual(c.shape);
        expectAllClose(w.data, c.data, 1e-5, 1e-6);
      }
    await setBackend("wasm");
  });

  test("empty products: zero rows give an empty tensor, K = 0 gives zeros", async () => {
    await setBackend("wasm");
    const e = tf.matMul(tf.zeros([0, 4]), tf.ones([4, 3]));
    expect(e.shape).toEqual([0, 3]);
    const z = tf.matMul(tf.ones([2, 0]), tf.ones([0, 3]));
    expect(Array.from(z.dataSync())).toEqual([0, 0, 0, 0, 0, 0]);
    tf.dispose([e, z]);
  });

  test("gradients of a matmul chain equal the closed form (plain loops, float64)", async () => {
    // L = Σ G ⊙ (A·B·Cᵀ): dA = G·C·Bᵀ, dB = Aᵀ·G·C, dC = Gᵀ·A·B.
    const [m, k, n, p] = [5, 4, 6, 3];
    const A = random([m, k], 11);
    const Bm = random([k, n], 12);
    const C = random([p, n], 13);
    const G = random([m, p], 14);
    const mm = (
      x: Float64Array | Float32Array,
      r: number,
      c: number,
      y: Float64Array | Float32Array,
      c2: number,
    ) => {
      const out = new Float64Array(r * c2);
      for (let i = 0; i < r; i++)
        for (let j = 0; j < c2; j++) {
          let s = 0;
          for (let q = 0; q < c; q++) s += x[i * c + q] * y[q * c2 + j];
          out[i * c2 + j] = s;
        }
      return out;
    };
    const T = (x: Float64Array | Float32Array, r: number, c: number) => {
      const out = new Float64Array(r * c);
      for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = x[i * c + j];
      return out;
    };
    const dA = mm(mm(G.data, m, p, C.data, n), m, n, T(Bm.data, k, n), k);
    const dB = mm(T(A.data, m, k), k, m, mm(G.data, m, p, C.data, n), n);
    const dC = mm(T(G.data, m, p), p, m, mm(A.data, m, k, Bm.data, n), n);
    const before = blasMatMulCalls();
    const got = await on("wasm", [A, Bm, C, G], (a, b, c, g) => {
      const f = (x: tf.Tensor, y: tf.Tensor, z: tf.Tensor) =>
        tf.sum(tf.mul(g, tf.matMul(tf.matMul(x, y), z, false, true)));
      return tf.grads(f)([a, b, c]);
    });
    expect(blasMatMulCalls()).toBeGreaterThanOrEqual(before + 5); // 2 forward + transposed backward products
    expectAllClose(got[0].data, dA, 1e-5, 1e-6);
    expectAllClose(got[1].data, dB, 1e-5, 1e-6);
    expectAllClose(got[2].data, dC, 1e-5, 1e-6);
  });

  test("tiny LLaMA: logits, training loss and every gradient equal the cpu backend's", async () => {
    const config = resolveConfig({
      ...TINY,
      hidden_size: 64,
      num_attention_heads: 4,
      num_key_value_heads: 2,
    });
    const ids = [
      [1, 5, 9, 13, 2, 40, 33, 7],
      [1, 60, 3, 3, 21, 8, 0, 11],
    ];
    const run = async (backend: "cpu" | "wasm") => {
      await setBackend(backend);
      const model = new LlamaForCausalLM(config, { seed: 3 });
      const logits = model.logits(ids);
      const l = logits.dataSync().slice();
      logits.dispose();
      const { loss, grads } = await model.lossAndGrads(ids, ids);
      const g = new Map([...grads].map(([k, v]) => [k, v.dataSync().slice() as Float32Array]));
      tf.dispose([...grads.values()]);
      model.dispose();
      return { l, loss, g };
    };
    const before = blasMatMulCalls();
    const w = await run("wasm");
    expect(blasMatMulCalls() - before).toBeGreaterThan(20);
    const c = await run("cpu");
    expectAllClose(w.l, c.l, 1e-4);
    expect(w.loss).toBeCloseTo(c.loss, 5);
    expect([...w.g.keys()]).toEqual([...c.g.keys()]);
    for (const [k, v] of c.g) expectAllClose(w.g.get(k) as Float32Array, v, 1e-4);
    await setBackend("wasm");
  });

  test("enableBlasMatMul(false) goes back to XNNPACK, with the same products", async () => {
    await setBackend("wasm");
    const ins = [random([3, 8, 6], 31), random([5, 6], 32)];
    const [blas] = await on("wasm", ins, (a, b) => [tf.matMul(a, b, false, true)]);
    expect(enableBlasMatMul(false)).toBe(false);
    expect(blasMatMulStatus().active).toBe(false);
    expect(await describeBackend()).not.toContain("OpenBLAS");
    const before = blasMatMulCalls();
    const [xnn] = await on("wasm", ins, (a, b) => [tf.matMul(a, b, false, true)]);
    expect(blasMatMulCalls()).toBe(before);
    expectAllClose(xnn.data, blas.data, 1e-5, 1e-6);
    expect(enableBlasMatMul(true)).toBe(true);
  });
});

describe("without BLAS", () => {
  const script = (body: string) => {
    const src = `import { setBackend, describeBackend, blasMatMulStatus } from ${JSON.stringify(new URL("../src/index.ts", import.meta.url).pathname)};
import { installBlasMatMul } from ${JSON.stringify(new URL("../src/wasm-blas.ts", import.meta.url).pathname)};
import * as tf from "@tensorflow/tfjs";
${body}`;
    return (env: Record<string, string>) =>
      spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", src], {
        encoding: "utf8",
        cwd: new URL("..", import.meta.url).pathname,
        env: { ...process.env, BIOMED_LLAMA_WASM_THREADS: "1", ...env },
        timeout: 60_000,
      });
  };
  const report = `const y = tf.matMul(tf.ones([2, 3]), tf.ones([4, 3]), false, true).dataSync();
console.log(JSON.stringify({ d: await describeBackend(), s: blasMatMulStatus(), y: Array.from(y) }));`;

  test("BIOMED_LLAMA_BLAS=0 keeps XNNPACK and says why", () => {
    const r = script(`await setBackend("wasm");\n${report}`)({ BIOMED_LLAMA_BLAS: "0" });
    const out = JSON.parse(r.stdout.trim().split("\n").pop() as string);
    expect(out.d).toBe("wasm (1 thread)");
    expect(out.s).toMatchObject({ active: false, reason: "disabled by BIOMED_LLAMA_BLAS=0" });
    expect(out.y).toEqual([3, 3, 3, 3, 3, 3, 3, 3]);
  });

  test("an installed but unbuilt addon leaves XNNPACK; the reason says how to build it", () => {
    const fixture = new URL("./fixtures/unbuilt-blas-addon.mjs", import.meta.url).href;
    const r = script(
      `await installBlasMatMul(${JSON.stringify(fixture)});\nawait setBackend("wasm");\n${report}`,
    )({});
    const out = JSON.parse(r.stdout.trim().split("\n").pop() as string);
    expect(out.d).toBe("wasm (1 thread)");
    expect(out.s.active).toBe(false);
    expect(out.s.reason).toBe(
      "OpenBLAS addon unavailable (native addon not built: /nonexistent/build/Release/blas_addon.node does not exist): apt-get install libopenblas-dev, then rebuild: pnpm --filter @biomed-llama/blas-addon build:native",
    );
    expect(out.y).toEqual([3, 3, 3, 3, 3, 3, 3, 3]);
  });

  test("a missing addon package leaves XNNPACK; the reason is the one-line load error", () => {
    const r = script(
      `await installBlasMatMul("@biomed-llama/no-such-blas-addon");\nawait setBackend("wasm");\n${report}`,
    )({});
    const out = JSON.parse(r.stdout.trim().split("\n").pop() as string);
    expect(out.d).toBe("wasm (1 thread)");
    expect(out.s.active).toBe(false);
    expect(out.s.reason).toMatch(
      /^@biomed-llama\/no-such-blas-addon is not installed \(.*\); for OpenBLAS matmul: apt-get install libopenblas-dev, then install @biomed-llama\/no-such-blas-addon$/,
    );
    expect(out.s.reason).not.toContain("\n");
    expect(out.y).toEqual([3, 3, 3, 3, 3, 3, 3, 3]);
  });
});
