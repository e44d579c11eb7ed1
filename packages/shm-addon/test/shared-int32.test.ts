import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { defaultNativePath, mapSharedFile, SharedInt32 } from "../src/index.js";

const dir = mkdtempSync(join(existsSync("/dev/shm") ? "/dev/shm" : tmpdir(), "shm-int32-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `body` in another process with `b` (the raw binding) and `ab` (the file mapped) in scope. */
function inOtherProcess(path: string, body: string): Promise<string> {
  const script = `
    const fs = require("node:fs");
    const m = { exports: {} };
    process.dlopen(m, ${JSON.stringify(defaultNativePath())});
    const b = m.exports;
    const fd = fs.openSync(${JSON.stringify(path)}, "r+");
    const ab = b.mapFd(fd, 64);
    fs.closeSync(fd);
    ${body}`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["-e", script]);
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(err))));
  });
}

describe("SharedInt32", () => {
  it("adds atomically with another process: no increment is lost", async () => {
    const path = join(dir, "count");
    const ab = mapSharedFile(path, 64, { create: true });
    const cell = new SharedInt32(ab, 8);
    const n = 200_000;
    const other = inOtherProcess(path, `for (let i = 0; i < ${n}; i++) b.atomicAdd(ab, 8, 1);`);
    for (let i = 0; i < n; i++) cell.add(1);
    await other;
    expect(cell.load()).toBe(2 * n);
    // Plain (non-atomic) read-modify-write from both sides would lose updates; the atomic result is exact.
    expect(cell.add(5)).toBe(2 * n);
    expect(cell.load()).toBe(2 * n + 5);
  });

  it("a waiter in another process wakes when this one changes the value, and times out otherwise", async () => {
    const path = join(dir, "wake");
    const ab = mapSharedFile(path, 64, { create: true });
    const flag = new SharedInt32(ab, 0);
    // The child first shows a timeout (nobody changes the value), then signals it is waiting, then blocks
    // for up to 20 s: it must return early, with 1, once we store and wake.
    const child = inOtherProcess(
      path,
      `const t = b.waitWhileEqual(ab, 0, 0, 20000);
       b.atomicStore(ab, 4, 1); b.wakeAll(ab, 4);
       const t0 = Date.now();
       const r = b.waitWhileEqual(ab, 0, 0, 20000000);
       process.stdout.write(JSON.stringify({ timedOut: t, woke: r, ms: Date.now() - t0 }));`,
    );
    const ready = new SharedInt32(ab, 4);
    while (!ready.waitWhileEqual(0, 100_000)) await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 50));
    flag.store(7);
    flag.wakeAll();
    const got = JSON.parse(await child);
    expect(got.timedOut).toBe(0);
    expect(got.woke).toBe(1);
    expect(got.ms).toBeLessThan(10_000);
  });

  it("refuses offsets that are unaligned or outside the buffer", () => {
    const ab = new ArrayBuffer(16);
    expect(() => new SharedInt32(ab, 2)).toThrow(/byteOffset 2/);
    expect(() => new SharedInt32(ab, 16)).toThrow(RangeError);
    expect(new SharedInt32(ab, 12).add(3)).toBe(0); // works on any ArrayBuffer, shared or not
  });
});
