import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { addressOf, defaultNativePath, readRemote, reduceRemote } from "../src/index.js";

/**
 * A child that fills a Float32Array of `n` with i * mul + add, prints "pid address" and stays alive
 * until its stdin closes, so this process can read its memory.
 */
function peer(n: number, mul: number, add: number) {
  const script = `
    const m = { exports: {} };
    process.dlopen(m, ${JSON.stringify(defaultNativePath())});
    const a = new Float32Array(${n});
    for (let i = 0; i < a.length; i++) a[i] = Math.fround(i * ${mul} + ${add});
    process.stdout.write(process.pid + " " + m.exports.addressOf(a) + "\\n");
    process.stdin.resume();
    process.stdin.on("end", () => process.exit(0));`;
  const child = spawn(process.execPath, ["-e", script], { stdio: ["pipe", "pipe", "inherit"] });
  const ready = new Promise<{ pid: number; address: bigint }>((resolve) => {
    child.stdout.once("data", (d) => {
      const [pid, address] = String(d).trim().split(" ");
      resolve({ pid: Number(pid), address: BigInt(address) });
    });
  });
  return { ready, done: () => child.stdin.end() };
}

// Cross-memory attach needs ptrace permission over the child (same user; Yama ptrace_scope 0 or root).
describe.runIf(process.platform === "linux")("remote memory (process_vm_readv)", () => {
  it("reads another process's array, and sums several sources in order, exactly like a float32 loop", async () => {
    const n = 40_000; // more than two of the addon's 16 Ki-float blocks, not a multiple of them
    const a = peer(n, 0.1, 1);
    const b = peer(n, -0.3, 1e7);
    try {
      const [pa, pb] = await Promise.all([a.ready, b.ready]);
      const got = new Float32Array(n);
      readRemote(pa.pid, pa.address, got);
      for (const i of [0, 1, 16_384, n - 1]) expect(got[i]).toBe(Math.fround(i * 0.1 + 1));

      const mine = new Float32Array(n).map((_, i) => Math.fround(Math.sin(i) * 1e-3));
      const pids = Int32Array.from([pa.pid, process.pid, pb.pid]);
      const addrs = BigUint64Array.from([pa.address, addressOf(mine), pb.address]);
      const sum = new Float32Array(n);
      reduceRemote(sum, pids, addrs, "sum");
      const max = new Float32Array(n);
      reduceRemote(max, pids, addrs, "max");
      for (let i = 0; i < n; i++) {
        const x = Math.fround(i * 0.1 + 1);
        const z = Math.fround(i * -0.3 + 1e7);
        const want = Math.fround(Math.fround(x + mine[i]) + z); // (s0 + s1) + s2, rounded at each step
        if (sum[i] !== want) expect(`sum[${i}] = ${sum[i]}`).toBe(`sum[${i}] = ${want}`);
        if (max[i] !== Math.max(x, mine[i], z)) expect(`max[${i}]`).toBe(Math.max(x, mine[i], z));
      }
      // dst may be one of the sources (in place).
      reduceRemote(
        mine,
        Int32Array.from([process.pid, pa.pid]),
        BigUint64Array.from([addressOf(mine), pa.address]),
      );
      expect(mine[3]).toBe(Math.fround(Math.fround(Math.sin(3) * 1e-3) + Math.fround(3 * 0.1 + 1)));
    } finally {
      a.done();
      b.done();
    }
  });

  it("fails with the system's reason for a bad address or a process that does not exist", () => {
    const dst = new Float32Array(4);
    expect(() => readRemote(process.pid, 8n, dst)).toThrow(/process_vm_readv: Bad address/);
    expect(() => readRemote(2 ** 22 + 12_345, addressOf(dst), dst)).toThrow(
      /process_vm_readv: No such process/,
    );
    expect(() => reduceRemote(dst, Int32Array.from([1]), new BigUint64Array(2))).toThrow(RangeError);
  });
});
