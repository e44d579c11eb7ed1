// Two hosts on one machine (network namespaces on a veth link, test/cluster/netns.ts), each running
// `biomed-llama launch --nnodes 2`: hybrid sharding with shared memory inside a host and the TCP ring
// between hosts gives the 1-rank trace; listeners bind only the host's own address; a slow (tc tbf) and
// a stalled link still give the same trace; a link cut makes every rank exit non-zero within the
// configured timeout naming its peer; a rank with the wrong secret, or none, is refused across hosts.
// CI must run these (it is root); a machine that refuses namespaces skips them, saying why.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createHosts, type Hosts, netnsUnavailable } from "./cluster/netns";
import { losses, type TinyInputs, tinyInputs, trainFlags } from "./helpers/tiny-run";

const cli = fileURLToPath(new URL("../dist/cli.js", import.meta.url));
const run = promisify(execFile);
const why = netnsUnavailable();
if (why && process.env.CI) throw new Error(`CI must run the multi-host tests, but: ${why}`);
if (why) console.warn(`skipping the multi-host tests: ${why}`);

let dir: string;
let inputs: TinyInputs;
let net: Hosts;
let reference: Map<number, number>;
let port = 29600;

const trainArgs = (out: string, extra: string[] = []) => [
  ...trainFlags(inputs, out, { saveInterval: 4 }),
  ...extra,
];

function expectReferenceTrace(runDir: string): void {
  const got = losses(runDir);
  expect([...got.keys()]).toEqual([...reference.keys()]);
  for (const [step, loss] of reference) expect(got.get(step)).toBeCloseTo(loss, 4);
}

interface HostRun {
  code: number | null;
  log: string;
  /** ms since the epoch when the host's launcher exited */
  exitedAt: number;
}

/**
 * One job over both hosts: `perHost` ranks each, node 0's address as MASTER_ADDR. `during` runs while
 * the job runs (given a way to wait for a line of host 0's log).
 */
async function job(
  perHost: number,
  args: string[],
  env: NodeJS.ProcessEnv = {},
  during?: (waitFor: (re: RegExp) => Promise<void>) => Promise<void>,
): Promise<HostRun[]> {
  const p = String(port++);
  const logs = ["", ""];
  const runs = [0, 1].map((i) => {
    const child = net.spawn(
      i,
      [
        process.execPath,
        cli,
        "launch",
        "--nproc-per-node",
        String(perHost),
        "--nnodes",
        "2",
        "--node-rank",
        String(i),
        "--master-addr",
        net.hosts[0].addr,
        "--master-port",
        p,
        "--",
        "pretrain",
        ...args,
      ],
      { BIOMED_LLAMA_SECRET: "two-hosts", BIOMED_LLAMA_ADDR: net.hosts[i].addr, ...env },
    );
    child.stdout?.on("data", (b) => {
      logs[i] += b;
    });
    child.stderr?.on("data", (b) => {
      logs[i] += b;
    });
    return new Promise<HostRun>((resolve) =>
      child.on("exit", (code) => resolve({ code, log: logs[i], exitedAt: Date.now() })),
    );
  });
  const waitFor = async (re: RegExp) => {
    for (let t = 0; t < 1200 && !re.test(logs[0]); t++) await new Promise((r) => setTimeout(r, 50));
    if (!re.test(logs[0])) throw new Error(`host 0 never logged ${re}:\n${logs[0]}`);
  };
  if (during) await during(waitFor);
  return Promise.all(runs);
}

describe.skipIf(why !== null)("two hosts (network namespaces on a veth link)", () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "cli-hosts-"));
    inputs = await tinyInputs(dir);
    const ref = join(dir, "ref");
    await run(process.execPath, [cli, "pretrain", ...trainArgs(ref)]);
    reference = losses(ref);
    net = createHosts();
  }, 120_000);
  afterAll(() => {
    net?.teardown();
    rmSync(dir, { recursive: true, force: true });
  });

  test.each(["hybrid", "hybrid-grad-op"])(
    "%s, 2 hosts × 2 ranks: shared memory inside a host, TCP between hosts, the 1-rank trace; listeners on the host address only",
    async (strategy) => {
      const out = join(dir, strategy);
      const seen: string[][] = [[], []];
      const hosts = await job(2, trainArgs(out, ["--sharding", strategy]), {}, async (waitFor) => {
        await waitFor(/step 2\/8/);
        for (const i of [0, 1]) seen[i] = net.listeners(i);
      });
      for (const h of hosts) expect(h.code, h.log).toBe(0);
      expectReferenceTrace(out);
      expect(hosts[0].log).toMatch(
        /4 rank\(s\) on 2 node\(s\); world tcp, intra-node (shm|single-copy), inter-node tcp/,
      );
      for (const i of [0, 1]) {
        expect(seen[i].length, `host ${i} listeners`).toBeGreaterThan(0);
        for (const a of seen[i])
          expect(a, `host ${i}`).toMatch(new RegExp(`^${net.hosts[i].addr.replace(/\./g, "\\.")}:\\d+$`));
      }
    },
    240_000,
  );

  test("a 1 Gbit/s link (tc tbf) that stalls for 3 s mid-run: the job finishes with the same trace", async () => {
    const out = join(dir, "slow");
    for (const i of [0, 1]) net.limitRate(i, "1gbit");
    const hosts = await job(
      2,
      trainArgs(out, ["--sharding", "hybrid"]),
      { BIOMED_LLAMA_TIMEOUT_MS: "20000" },
      async (waitFor) => {
        await waitFor(/step 3\/8/);
        net.setLink(false);
        await new Promise((r) => setTimeout(r, 3000));
        net.setLink(true);
      },
    );
    for (const h of hosts) expect(h.code, h.log).toBe(0);
    expectReferenceTrace(out);
  }, 240_000);

  test("a link cut mid-run: every rank exits non-zero within the timeout, naming its peer", async () => {
    const out = join(dir, "cut");
    const timeoutMs = 5000;
    let cutAt = 0;
    const hosts = await job(
      1,
      trainArgs(out, ["--sharding", "full", "--max-steps", "200", "--micro-batch", "2"]),
      { BIOMED_LLAMA_TIMEOUT_MS: String(timeoutMs) },
      async (waitFor) => {
        await waitFor(/step\s+3\/200/);
        net.setLink(false);
        cutAt = Date.now();
      },
    );
    net.setLink(true);
    for (const [i, h] of hosts.entries()) {
      expect(h.code, h.log).not.toBe(0);
      // the collective under way times out, the store's verdict gets up to 1 s, then the rank exits
      expect(h.exitedAt - cutAt, `host ${i}`).toBeLessThan(timeoutMs + 2500);
      const peer = 1 - i;
      expect(h.log).toMatch(
        new RegExp(`biomed-llama: .*rank ${peer} stopped responding .*timed out after ${timeoutMs} ms`),
      );
    }
  }, 120_000);

  test("a rank with the wrong secret, or none, is refused across hosts; the job goes on", async () => {
    const out = join(dir, "guarded");
    const intruders: { code: number | null; err: string }[] = [];
    const hosts = await job(1, trainArgs(out, ["--sharding", "full"]), {}, async (waitFor) => {
      await waitFor(/step 1\/8/);
      for (const secret of ["not-the-secret", ""]) {
        const child = net.spawn(1, [process.execPath, cli, "pretrain", ...trainArgs(join(dir, "intruder"))], {
          RANK: "1",
          WORLD_SIZE: "2",
          MASTER_ADDR: net.hosts[0].addr,
          MASTER_PORT: String(port - 1),
          BIOMED_LLAMA_ADDR: net.hosts[1].addr,
          BIOMED_LLAMA_SECRET: secret,
        });
        let err = "";
        child.stderr?.on("data", (b) => {
          err += b;
        });
        intruders.push(await new Promise((resolve) => child.on("exit", (code) => resolve({ code, err }))));
      }
    });
    for (const h of hosts) expect(h.code, h.log).toBe(0);
    expectReferenceTrace(out);
    expect(intruders[0].code).toBe(1);
    expect(intruders[0].err).toMatch(
      /^biomed-llama: the rendezvous store refused the connection: authentication failed: wrong BIOMED_LLAMA_SECRET$/m,
    );
    expect(intruders[1].code).toBe(1);
    expect(intruders[1].err).toMatch(/BIOMED_LLAMA_SECRET is not set/);
  }, 240_000);
});
