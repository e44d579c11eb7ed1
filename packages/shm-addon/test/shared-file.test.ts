import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { defaultNativePath, isShmAddonBuilt, mapSharedFile } from "../src/index.js";

// Build the addon first (`pnpm --filter @biomed-llama/shm-addon build`); every check below needs it.
const dir = mkdtempSync(join(existsSync("/dev/shm") ? "/dev/shm" : tmpdir(), "shm-addon-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Another process maps `path` through the raw binding, adds 1 to every float, and prints the sum it read. */
function otherProcess(path: string, bytes: number): string {
  const script = `
    const fs = require("node:fs");
    const m = { exports: {} };
    process.dlopen(m, ${JSON.stringify(defaultNativePath())});
    const fd = fs.openSync(${JSON.stringify(path)}, "r+");
    const f = new Float32Array(m.exports.mapFd(fd, ${bytes}));
    fs.closeSync(fd);
    let s = 0;
    for (let i = 0; i < f.length; i++) { s += f[i]; f[i] += 1; }
    process.stdout.write(String(s));`;
  const r = spawnSync(process.execPath, ["-e", script], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout;
}

describe("mapSharedFile", () => {
  it("is built (scripts/build-native.mjs ran)", () => {
    expect(isShmAddonBuilt()).toBe(true);
  });

  it("shares memory with another process both ways, and survives unlinking the file", () => {
    const path = join(dir, "a");
    const n = 1000;
    const mine = new Float32Array(mapSharedFile(path, n * 4, { create: true }));
    expect(mine.length).toBe(n);
    expect(mine.every((v) => v === 0)).toBe(true); // a new tmpfs file reads as zeros
    for (let i = 0; i < n; i++) mine[i] = i;
    // The child reads what this process wrote (sum 0..999) and writes i+1 back.
    expect(otherProcess(path, n * 4)).toBe(String((n * (n - 1)) / 2));
    expect(mine[0]).toBe(1);
    expect(mine[n - 1]).toBe(n);
    unlinkSync(path);
    mine[5] = 42; // still mapped after the name is gone
    expect(mine[5]).toBe(42);
  });

  it("maps an existing file that is longer than asked, from offset 0", () => {
    const path = join(dir, "b");
    writeFileSync(path, Buffer.from(Float32Array.from([7, 8, 9, 10]).buffer));
    const view = new Float32Array(mapSharedFile(path, 8, { create: false }));
    expect(Array.from(view)).toEqual([7, 8]);
  });

  it("refuses, naming the file: a missing file, a file too short, creating one that exists, bad sizes", () => {
    const missing = join(dir, "missing");
    expect(() => mapSharedFile(missing, 16, { create: false })).toThrow(/ENOENT.*missing|missing.*ENOENT/);
    const short = join(dir, "short");
    writeFileSync(short, Buffer.alloc(8));
    expect(() => mapSharedFile(short, 16, { create: false })).toThrow(/short: mapFd: the file is 8 bytes/);
    expect(() => mapSharedFile(short, 16, { create: true })).toThrow(/EEXIST/);
    expect(() => mapSharedFile(short, 0, { create: false })).toThrow(
      /short: bytes must be a positive integer/,
    );
    expect(() => mapSharedFile(short, 1.5, { create: false })).toThrow(RangeError);
  });

  it("allocates at creation: a file the system cannot hold fails there, naming it, and is removed", () => {
    // RLIMIT_FSIZE of 1 block stands in for a full /dev/shm (both make posix_fallocate fail); with SIGXFSZ
    // ignored the call returns the error instead of killing the process.
    const path = join(dir, "too-big");
    const script = `
      process.on("SIGXFSZ", () => {});
      const { mapSharedFile } = require(${JSON.stringify(join(__dirname, "..", "dist", "index.cjs"))});
      try { mapSharedFile(${JSON.stringify(path)}, 1 << 20, { create: true }); process.stdout.write("mapped"); }
      catch (e) { process.stdout.write(e.message); }`;
    const r = spawnSync(
      "bash",
      ["-c", `ulimit -f 1; exec "${process.execPath}" -e '${script.replace(/'/g, "'\\''")}'`],
      {
        encoding: "utf8",
      },
    );
    expect(r.stdout).toMatch(/too-big: posix_fallocate of 1048576 bytes: File too large/);
    expect(existsSync(path)).toBe(false);
  });
});
