import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { describe, expect, test } from "vitest";
import { LlamaForCausalLM, setBackend, WASM_THREADS_ENV, wasmThreadCount } from "../src/index";
import { initThreadedWasm, requestedWasmThreads, WasmThreadsEnvError } from "../src/wasm-threads";
import { expectAllClose, tmpDir } from "./helpers";

// Wide enough that XNNPACK splits the matmuls across its pool (tiny ones stay on one thread).
const CONFIG = {
  vocab_size: 256,
  hidden_size: 128,
  intermediate_size: 344,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  max_position_embeddings: 64,
  rms_norm_eps: 1e-6,
};
const IDS = [
  Array.from({ length: 48 }, (_, i) => (i * 37 + 5) % 256),
  Array.from({ length: 48 }, (_, i) => (i * 11 + 200) % 256),
];

function expectedThreads(): number {
  const forced = Number(process.env[WASM_THREADS_ENV]);
  // The C side caps the pool at 8 threads.
  return Math.min(Number.isInteger(forced) && forced >= 1 ? forced : availableParallelism(), 8);
}

describe("threaded wasm backend", () => {
  test("reports its thread count and gives the cpu backend's logits to 1e-4", async () => {
    expect(await setBackend("wasm")).toBe("wasm");
    expect(await wasmThreadCount()).toBe(expectedThreads());
    const wasmLogits = tf.tidy(() => new LlamaForCausalLM(CONFIG, { seed: 3 }).logits(IDS).dataSync());
    expect(await setBackend("cpu")).toBe("cpu");
    const cpuLogits = tf.tidy(() => new LlamaForCausalLM(CONFIG, { seed: 3 }).logits(IDS).dataSync());
    expectAllClose(wasmLogits, cpuLogits, 1e-4, 1e-5);
  }, 60_000);

  // A child process runs a forward pass on wasm and must exit by itself: pool threads that held the
  // event loop open would make it hang until spawnSync's timeout kills it.
  const child = (env: Record<string, string | undefined>) => {
    const dir = tmpDir("wasm-threads");
    const script = join(dir, "forward.mts");
    writeFileSync(
      script,
      [
        `import * as tf from "@tensorflow/tfjs";`,
        `import { LlamaForCausalLM, setBackend, wasmThreadCount } from ${JSON.stringify(join(import.meta.dirname, "../src/index.ts"))};`,
        `const backend = await setBackend("wasm");`,
        `const logits = new LlamaForCausalLM(${JSON.stringify(CONFIG)}, { seed: 3 }).logits(${JSON.stringify(IDS)});`,
        `const finite = logits.dataSync().every(Number.isFinite);`,
        `console.log(JSON.stringify({ backend, threads: await wasmThreadCount(), finite, shape: logits.shape }));`,
      ].join("\n"),
    );
    const r = spawnSync(process.execPath, ["--import", "tsx", script], {
      cwd: import.meta.dirname,
      env: { ...process.env, ...env },
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(r.signal, r.stderr).toBeNull();
    expect(r.status, r.stderr).toBe(0);
    return JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "") as {
      backend: string;
      threads: number;
      finite: boolean;
      shape: number[];
    };
  };

  test("a process that ran a threaded forward pass exits on its own", () => {
    const out = child({ [WASM_THREADS_ENV]: undefined });
    expect(out).toEqual({
      backend: "wasm",
      threads: Math.min(availableParallelism(), 8),
      finite: true,
      shape: [2, 48, 256],
    });
  }, 90_000);

  test(`${WASM_THREADS_ENV}=1 forces the single-threaded build`, () => {
    const out = child({ [WASM_THREADS_ENV]: "1" });
    expect(out.backend).toBe("wasm");
    expect(out.threads).toBe(1);
  }, 90_000);
});

describe("initThreadedWasm", () => {
  test("a malformed BIOMED_LLAMA_WASM_THREADS is a WasmThreadsEnvError naming the variable", () => {
    const saved = process.env[WASM_THREADS_ENV];
    try {
      for (const bad of ["0", "two", "1.5", "-2"]) {
        process.env[WASM_THREADS_ENV] = bad;
        expect(() => requestedWasmThreads()).toThrow(WasmThreadsEnvError);
        expect(() => requestedWasmThreads()).toThrow(`${WASM_THREADS_ENV}="${bad}"`);
      }
      process.env[WASM_THREADS_ENV] = "3";
      expect(requestedWasmThreads()).toBe(3);
    } finally {
      if (saved === undefined) delete process.env[WASM_THREADS_ENV];
      else process.env[WASM_THREADS_ENV] = saved;
    }
  });

  test("a failing init leaves the flag off, the thread count at 1 and os.cpus untouched", async () => {
    const os = await import("node:os");
    const cpusBefore = os.default.cpus;
    const counts: number[] = [];
    let coresSeen = 0;
    const ok = await initThreadedWasm(
      2,
      (n) => counts.push(n),
      async () => {
        coresSeen = os.default.cpus().length;
        throw new Error("worker failed to start");
      },
    );
    expect(ok).toBe(false);
    expect(coresSeen).toBe(4);
    expect(counts).toEqual([2, 1]);
    expect(tf.env().getBool("WASM_HAS_MULTITHREAD_SUPPORT")).toBe(false);
    expect(os.default.cpus).toBe(cpusBefore);
  });

  test("one thread requested never touches the threaded build", async () => {
    let called = false;
    const ok = await initThreadedWasm(
      1,
      () => {},
      async () => {
        called = true;
        return true;
      },
    );
    expect(ok).toBe(false);
    expect(called).toBe(false);
  });
});
