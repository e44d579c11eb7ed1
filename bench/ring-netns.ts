// The TCP ring between two "hosts" — network namespaces on one veth link, as the multi-host tests make
// them (apps/cli/test/cluster/netns.ts) — against raw TCP between the same two namespaces, measured in
// the same run: one way, and both ways at once (the pattern of a 2-rank ring, where each rank sends to
// its neighbour while receiving from it). Optionally through a rate-limited link (`--rate 1gbit`, tc tbf).
// Bus bandwidth as nccl-tests: all-reduce algbw·2(n−1)/n (= algbw for n = 2), all-gather and
// reduce-scatter algbw·(n−1)/n. Needs root (ip netns).
// Run: pnpm --filter @biomed-llama/fsdp-sharding build && pnpm tsx bench/ring-netns.ts [--max-mb 64] [--iters 5] [--rate 1gbit]
// Writes bench/results/ring-netns.json (ring-netns-<rate>.json with --rate).
import { connect, createServer } from "node:net";
import { cpus, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { createHosts, netnsUnavailable } from "../apps/cli/test/cluster/netns.js";
// bench/ is not a workspace dependent of the package, so it loads the built entry by path.
import { initProcessGroup } from "../packages/fsdp-sharding/dist/index.js";
import { type BandwidthRow, collectiveBandwidth, sendAll } from "./collective-bandwidth.js";
import { resultLine } from "./launch-ranks.js";
import { writeResult } from "./write-result.js";

const self = fileURLToPath(import.meta.url);
const argOf = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const maxMb = Number(argOf("max-mb") ?? 64);
const iters = Number(argOf("iters") ?? 5);
const rate = argOf("rate");
const sizesMb = [1, 4, 16, 64, 256].filter((m) => m <= maxMb);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const PORT = 29700;
const RAW_PORT = 29800;

/** A rank: the collectives over 1–maxMb MB, rank 0 prints the rows. */
async function worker(): Promise<void> {
  const g = await initProcessGroup({ timeoutMs: 600_000 });
  const rows = await collectiveBandwidth(g, sizesMb, iters);
  if (g.rank === 0) process.stdout.write(`RESULT ${JSON.stringify(rows)}\n`);
  await g.destroy();
}

/** Host 0 side of a raw transfer: receives `total` bytes (and in duplex mode sends as many), prints GB/s. */
function rawReceiver(addr: string, total: number, duplex: boolean): void {
  const server = createServer((sock) => {
    sock.setNoDelay(true);
    sock.on("error", () => {});
    let got = 0;
    const t0 = process.hrtime.bigint();
    sock.on("data", (d) => {
      got += d.length;
      if (got >= total) {
        process.stdout.write(`RESULT ${total / (Number(process.hrtime.bigint() - t0) / 1e9) / 1e9}\n`);
        setTimeout(() => process.exit(0), duplex ? 500 : 0);
      }
    });
    if (duplex) sendAll(sock, total);
  });
  server.listen(RAW_PORT, addr, () => process.stderr.write("READY\n"));
}

/** Host 1 side: connects to host 0 and sends `total` bytes (draining what comes back in duplex mode). */
function rawSender(addr: string, total: number, duplex: boolean): void {
  const sock = connect({ port: RAW_PORT, host: addr }, () => {
    sock.setNoDelay(true);
    if (duplex) sock.on("data", () => {});
    sendAll(sock, total, () => {
      if (!duplex) sock.end();
    });
  });
  sock.on("error", () => {});
}

async function main(): Promise<void> {
  const why = netnsUnavailable();
  if (why) throw new Error(`bench/ring-netns.ts needs network namespaces: ${why}`);
  const net = createHosts();
  try {
    if (rate) for (const i of [0, 1]) net.limitRate(i, rate);
    const [h0] = net.hosts;
    const collect = (child: import("node:child_process").ChildProcess) =>
      new Promise<string>((resolve, reject) => {
        let out = "";
        child.stdout?.on("data", (b) => {
          out += b;
        });
        child.stderr?.on("data", (b) => process.stderr.write(b));
        child.on("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`exit ${code}: ${out}`))));
      });
    const tsx = [process.execPath, "--import", "tsx", self];
    const raw = async (duplex: boolean) => {
      const total = Math.max(64, maxMb) * 1024 * 1024;
      const recv = net.spawn(
        0,
        [...tsx, "--raw-recv", h0.addr, String(total), duplex ? "duplex" : "one-way"],
        {},
      );
      const ready = new Promise<void>((resolve) =>
        recv.stderr?.on("data", (b) => String(b).includes("READY") && resolve()),
      );
      const result = collect(recv);
      await ready;
      const send = net.spawn(
        1,
        [...tsx, "--raw-send", h0.addr, String(total), duplex ? "duplex" : "one-way"],
        {},
      );
      send.stdout?.resume();
      const gbps = resultLine<number>(await result);
      send.kill();
      return gbps;
    };
    const baselines = async () => ({ oneWay: await raw(false), duplex: await raw(true) });
    const before = await baselines();
    const ranks = [0, 1].map((i) =>
      collect(
        net.spawn(i, [...tsx, "--worker", "--max-mb", String(maxMb), "--iters", String(iters)], {
          RANK: String(i),
          WORLD_SIZE: "2",
          LOCAL_RANK: "0",
          LOCAL_WORLD_SIZE: "1",
          GROUP_RANK: String(i),
          MASTER_ADDR: h0.addr,
          MASTER_PORT: String(PORT),
          BIOMED_LLAMA_SECRET: "bench",
          BIOMED_LLAMA_ADDR: net.hosts[i].addr,
        }),
      ),
    );
    const rows = resultLine<BandwidthRow[]>((await Promise.all(ranks))[0]);
    const after = await baselines();
    const rawDuplexGBps = median([before.duplex, after.duplex]);
    const biggest = rows.filter((r) => r.mb === Math.max(...sizesMb));
    const result = {
      bench: "ring-netns",
      what: "TCP ring (2 ranks, one per network-namespace host, veth link) vs raw TCP between the same namespaces",
      date: new Date().toISOString(),
      cpu: cpus()[0]?.model,
      cores: cpus().length,
      loadavg: loadavg(),
      link: rate ? `veth, tc tbf ${rate}` : "veth, no limit",
      iters,
      rawTcpGBps: { oneWay: [before.oneWay, after.oneWay], duplex: [before.duplex, after.duplex] },
      ring: rows,
      ringVsRawDuplex: Object.fromEntries(biggest.map((r) => [r.op, r.busGBps / rawDuplexGBps])),
    };
    const file = writeResult(rate ? `ring-netns-${rate}` : "ring-netns", result);
    process.stderr.write(`wrote ${file}\n${JSON.stringify(result.ringVsRawDuplex)}\n`);
  } finally {
    net.teardown();
  }
}

if (process.argv.includes("--worker")) await worker();
else if (process.argv.includes("--raw-recv"))
  rawReceiver(
    argOf("raw-recv")!,
    Number(process.argv[process.argv.indexOf("--raw-recv") + 2]),
    process.argv.includes("duplex"),
  );
else if (process.argv.includes("--raw-send"))
  rawSender(
    argOf("raw-send")!,
    Number(process.argv[process.argv.indexOf("--raw-send") + 2]),
    process.argv.includes("duplex"),
  );
else await main();
