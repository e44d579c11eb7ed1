import { ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { Writable } from "node:stream";
import { expect, test, vi } from "vitest";
import { LaunchError, launchJob } from "../src/runtime/launch.js";
import { PKG_DIR } from "./helpers/world.js";

function sink(): { stream: Writable; text: () => string } {
  let out = "";
  return {
    stream: new Writable({
      write(c, _e, cb) {
        out += c;
        cb();
      },
    }),
    text: () => out,
  };
}

const printEnv = `console.log(JSON.stringify(Object.fromEntries(["RANK","WORLD_SIZE","LOCAL_RANK","LOCAL_WORLD_SIZE","GROUP_RANK","NODE_RANK","MASTER_ADDR","MASTER_PORT","BIOMED_LLAMA_SECRET"].map(k => [k, process.env[k]]))))`;

function envs(text: string): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const line of text.trim().split("\n")) {
    const m = /^\[rank (\d+)\] (.*)$/.exec(line)!;
    out[m[1]] = JSON.parse(m[2]);
  }
  return out;
}

test("children get the torchrun variables and one fresh per-job secret", async () => {
  const a = sink();
  const res = await launchJob({
    nprocPerNode: 3,
    command: [process.execPath, "-e", printEnv],
    stdout: a.stream,
    env: {},
  });
  expect(res).toEqual({ code: 0 });
  const e = envs(a.text());
  expect(Object.keys(e).sort()).toEqual(["0", "1", "2"]);
  for (const r of ["0", "1", "2"]) {
    expect(e[r]).toMatchObject({
      RANK: r,
      WORLD_SIZE: "3",
      LOCAL_RANK: r,
      LOCAL_WORLD_SIZE: "3",
      GROUP_RANK: "0",
      NODE_RANK: "0",
    });
    expect(e[r].MASTER_ADDR).toBe("127.0.0.1");
    expect(Number(e[r].MASTER_PORT)).toBeGreaterThan(0);
    expect(e[r].BIOMED_LLAMA_SECRET).toMatch(/^[0-9a-f]{64}$/);
    expect(e[r].BIOMED_LLAMA_SECRET).toBe(e["0"].BIOMED_LLAMA_SECRET);
  }
  const b = sink();
  await launchJob({
    nprocPerNode: 1,
    command: [process.execPath, "-e", printEnv],
    stdout: b.stream,
    env: {},
  });
  expect(envs(b.text())["0"].BIOMED_LLAMA_SECRET).not.toBe(e["0"].BIOMED_LLAMA_SECRET);
});

test("second node of two gets global ranks 2 and 3 and keeps the given secret and master", async () => {
  const a = sink();
  await launchJob({
    nprocPerNode: 2,
    nnodes: 2,
    nodeRank: 1,
    masterAddr: "10.1.2.3",
    masterPort: 29555,
    command: [process.execPath, "-e", printEnv],
    stdout: a.stream,
    env: { BIOMED_LLAMA_SECRET: "shared" },
  });
  const e = envs(a.text());
  expect(e["2"]).toMatchObject({
    RANK: "2",
    LOCAL_RANK: "0",
    WORLD_SIZE: "4",
    GROUP_RANK: "1",
    MASTER_ADDR: "10.1.2.3",
    MASTER_PORT: "29555",
    BIOMED_LLAMA_SECRET: "shared",
  });
  expect(e["3"]).toMatchObject({ RANK: "3", LOCAL_RANK: "1" });
});

test("bad options and a multi-node job without a secret are LaunchErrors", async () => {
  await expect(launchJob({ nprocPerNode: 0, command: ["true"] })).rejects.toThrow(
    /--nproc-per-node must be an integer >= 1/,
  );
  await expect(launchJob({ nprocPerNode: 1, nnodes: 2, nodeRank: 2, command: ["true"] })).rejects.toThrow(
    /--node-rank 2 must be < --nnodes 2/,
  );
  await expect(launchJob({ nprocPerNode: 1, command: [] })).rejects.toBeInstanceOf(LaunchError);
  await expect(launchJob({ nprocPerNode: 1, nnodes: 2, command: ["true"], env: {} })).rejects.toThrow(
    /BIOMED_LLAMA_SECRET is not set/,
  );
});

test("a missing program fails with 127 naming the rank, and signals no process it did not start", async () => {
  // A child whose spawn failed has no pid, but until its 'error' event its handle is still open, and
  // ChildProcess.kill() then signals pid 0 (the launcher's whole process group, this test runner
  // included) or the failed fork's recycled pid. The launcher must never signal such a child.
  const signalled: (number | undefined)[] = [];
  const realKill = ChildProcess.prototype.kill;
  const spy = vi.spyOn(ChildProcess.prototype, "kill").mockImplementation(function (this: ChildProcess, sig) {
    signalled.push(this.pid);
    return this.pid === undefined ? false : realKill.call(this, sig);
  });
  try {
    const err = sink();
    const res = await launchJob({
      nprocPerNode: 3,
      command: ["/nonexistent/program"],
      stderr: err.stream,
      env: {},
      killGraceMs: 50,
    });
    expect(res.code).toBe(127);
    expect(res.reason).toMatch(/could not start \/nonexistent\/program/);
    expect(err.text()).toMatch(/rank \d failed \(could not start/);
    await new Promise((r) => setTimeout(r, 200));
    expect(signalled).not.toContain(undefined);
  } finally {
    spy.mockRestore();
  }
});

test("SIGTERM to the launcher is forwarded to every rank", { timeout: 30_000 }, async () => {
  // The launcher runs in its own process so we can signal it.
  const child = [
    "process.on('SIGTERM', () => { console.log('rank got SIGTERM'); process.exit(0); });",
    "console.log('up'); setInterval(() => {}, 1000);",
  ].join("");
  const script = `import { launchJob } from ${JSON.stringify(join(PKG_DIR, "src", "runtime", "launch.ts"))};
const r = await launchJob({ nprocPerNode: 2, command: [process.execPath, "-e", ${JSON.stringify(child)}] });
process.exit(r.code);`;
  const launcher = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    cwd: PKG_DIR,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const up = new Promise<void>((resolve) =>
    launcher.stdout.on("data", (d) => {
      out += d;
      if ((out.match(/up/g) ?? []).length === 2) resolve();
    }),
  );
  await up;
  launcher.kill("SIGTERM");
  const code = await new Promise<number | null>((r) => launcher.on("close", (c) => r(c)));
  expect(code).toBe(143);
  expect(out).toContain("[rank 0] rank got SIGTERM");
  expect(out).toContain("[rank 1] rank got SIGTERM");
});
