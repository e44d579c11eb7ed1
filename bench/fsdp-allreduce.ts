// Bus bandwidth of the collectives (all-reduce, reduce-scatter, all-gather) for 1–256 MB float32 buffers on
// 2 and 4 local ranks, on the three data paths — single-copy (the default between ranks of one machine
// where the kernel allows process_vm_readv), staged through shared memory (BIOMED_LLAMA_SHM_SINGLE_COPY=0)
// and the TCP ring (BIOMED_LLAMA_SHM=0, the path between machines) — against raw loopback TCP throughput
// between two processes measured in the same run: one way, both ways at once between two processes, and
// in the ring's own pattern (n processes, each sending to the next while receiving from the previous: the
// like-for-like ceiling for a TCP ring of n on this machine, where ranks share 2 cores with the kernel).
// Also the latency of a barrier and of a 4 KiB all-reduce on each path.
// Bus bandwidth follows nccl-tests: all-reduce algbw·2(n-1)/n, reduce-scatter / all-gather algbw·(n-1)/n,
// algbw = full buffer bytes / time.
// Run: pnpm --filter @biomed-llama/fsdp-sharding build && pnpm tsx bench/fsdp-allreduce.ts [--max-mb 64] [--iters 5]
// Writes bench/results/fsdp.json.
import { spawn } from "node:child_process";
import { connect, createServer } from "node:net";
import { cpus, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
// bench/ is not a workspace dependent of the package, so it loads the built entry by path.
import { freePort, initProcessGroup, TcpProcessGroup } from "../packages/fsdp-sharding/dist/index.js";
import { type BandwidthRow, collectiveBandwidth, sendAll } from "./collective-bandwidth.js";
import { launchRanks, resultLine } from "./launch-ranks.js";
import { writeResult } from "./write-result.js";

const self = fileURLToPath(import.meta.url);
const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};
const maxMb = arg("max-mb", 64);
const iters = arg("iters", 5);
const pieceElems = arg("piece-elems", 0) || undefined;
const sizesMb = [1, 4, 16, 64, 256].filter((m) => m <= maxMb);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

type Row = BandwidthRow;

/**
 * The three data paths: the default (single-copy where the kernel allows process_vm_readv, as here),
 * shared-memory staging, and the TCP ring (the path between machines).
 */
const PATH_ENVS: Record<string, string>[] = [
  { BIOMED_LLAMA_SHM: "1" },
  { BIOMED_LLAMA_SHM: "1", BIOMED_LLAMA_SHM_SINGLE_COPY: "0" },
  { BIOMED_LLAMA_SHM: "0" },
];

interface Latency {
  path: string;
  ranks: number;
  barrierMicros: number;
  allReduce4KiBMicros: number;
}

async function worker(): Promise<void> {
  const g = await initProcessGroup({ timeoutMs: 600_000, pieceElems });
  const n = g.size;
  const path = g instanceof TcpProcessGroup ? g.dataPath : "solo";
  const rows = await collectiveBandwidth(g, sizesMb, iters);
  // Latency: what a small collective costs (synchronisation, not bandwidth), mean over 300 calls.
  const meanMicros = async (run: () => Promise<unknown>) => {
    for (let k = 0; k < 30; k++) await run();
    const t0 = process.hrtime.bigint();
    for (let k = 0; k < 300; k++) await run();
    return Number(process.hrtime.bigint() - t0) / 1e3 / 300;
  };
  const small = new Float32Array(1024);
  const latency: Latency = {
    path,
    ranks: n,
    barrierMicros: await meanMicros(() => g.barrier()),
    allReduce4KiBMicros: await meanMicros(() => g.allReduce(small)),
  };
  if (g.rank === 0) process.stdout.write(`RESULT ${JSON.stringify({ rows, latency })}\n`);
  await g.destroy();
}

/** Raw loopback TCP: a child process writes `mb` MiB as fast as it can, this process reads and times it. */
async function rawTcp(mb: number): Promise<number> {
  const total = mb * 1024 * 1024;
  return new Promise((resolve, reject) => {
    const server = createServer((sock) => {
      sock.on("error", () => {});
      let got = 0;
      let t0 = 0n;
      sock.on("data", (d) => {
        if (got === 0) t0 = process.hrtime.bigint();
        got += d.length;
        if (got >= total) {
          const s = Number(process.hrtime.bigint() - t0) / 1e9;
          sock.destroy();
          server.close();
          resolve(total / s / 1e9);
        }
      });
    });
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      const child = spawn(
        process.execPath,
        ["--import", "tsx", self, "--raw-sender", String(port), String(total)],
        {
          stdio: "inherit",
        },
      );
      child.on("error", reject);
    });
  });
}

/**
 * Raw loopback TCP in both directions at once: this process and a child each send `mb` MiB to the other.
 * A ring rank sends and receives simultaneously, so this is the like-for-like ceiling for a 2-rank ring.
 */
async function rawDuplex(mb: number): Promise<number> {
  const total = mb * 1024 * 1024;
  return new Promise((resolve, reject) => {
    const server = createServer((sock) => {
      sock.on("error", () => {}); // the peer may hang up while our last bytes are in flight
      sock.setNoDelay(true);
      const t0 = process.hrtime.bigint();
      let got = 0;
      sock.on("data", (d) => {
        got += d.length;
        if (got >= total) {
          const s = Number(process.hrtime.bigint() - t0) / 1e9;
          sock.destroy();
          server.close();
          resolve(total / s / 1e9);
        }
      });
      sendAll(sock, total);
    });
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      const child = spawn(
        process.execPath,
        ["--import", "tsx", self, "--raw-sender", String(port), String(total), "duplex"],
        {
          stdio: "inherit",
        },
      );
      child.on("error", reject);
    });
  });
}

/**
 * Raw loopback TCP in the ring's own pattern: `n` processes, each with one socket to the next and one from
 * the previous, all sending `mb` MiB to the next while receiving as much from the previous. Returns the
 * slowest member's per-link rate: what TCP between these processes on this machine allows a ring of n
 * (with n > cores they share CPUs exactly as the ring's ranks do), with no framing or arithmetic.
 */
async function rawRing(n: number, mb: number): Promise<number> {
  const total = mb * 1024 * 1024;
  const ports: number[] = [];
  for (let i = 0; i < n; i++) ports.push(await freePort());
  const rates = await Promise.all(
    ports.map(
      (_, i) =>
        new Promise<number>((resolve, reject) => {
          const child = spawn(
            process.execPath,
            ["--import", "tsx", self, "--raw-ring-member", String(i), ports.join(","), String(total)],
            { stdio: ["ignore", "pipe", "inherit"] },
          );
          let out = "";
          child.stdout!.on("data", (d) => {
            out += d;
          });
          child.on("error", reject);
          child.on("close", (code) =>
            code === 0
              ? resolve(Number(out.trim()))
              : reject(new Error(`raw ring member ${i} exited ${code}`)),
          );
        }),
    ),
  );
  return Math.min(...rates);
}

function rawRingMember(i: number, ports: number[], total: number): void {
  const n = ports.length;
  let t0 = 0n;
  let received = 0;
  let sentAll = false;
  let links = 0;
  let recvSock: import("node:net").Socket | null = null;
  const finish = () => {
    if (received < total || !sentAll) return;
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    process.stdout.write(`${total / s / 1e9}\n`);
    // give the next member time to drain our last bytes before the process (and its sockets) goes
    setTimeout(() => process.exit(0), 500);
  };
  let sendSock: import("node:net").Socket | null = null;
  const start = () => {
    if (++links < 2) return;
    t0 = process.hrtime.bigint();
    sendAll(sendSock!, total, () => {
      sentAll = true;
      finish();
    });
  };
  const server = createServer((sock) => {
    recvSock = sock;
    sock.setNoDelay(true);
    sock.on("error", () => {});
    sock.on("data", (d) => {
      received += d.length;
      if (received >= total) finish();
    });
    start();
  });
  server.listen(ports[i], "127.0.0.1", () => {
    const tryConnect = () => {
      const sock = connect({ port: ports[(i + 1) % n], host: "127.0.0.1" }, () => {
        sock.setNoDelay(true);
        sendSock = sock;
        start();
      });
      sock.on("error", () => setTimeout(tryConnect, 20));
    };
    tryConnect();
  });
  void recvSock;
}

function rawSender(port: number, total: number): void {
  const duplex = process.argv.includes("duplex");
  const sock = connect({ port, host: "127.0.0.1" }, () => {
    sock.setNoDelay(true);
    // In duplex mode also drain what the other side sends, until it hangs up.
    if (duplex) sock.on("data", () => {});
    sendAll(sock, total, () => {
      if (!duplex) sock.end();
    });
  });
  sock.on("error", () => {});
}

async function main(): Promise<void> {
  // Baselines before and after the ring runs: on a shared machine the load drifts during the run.
  const raw: number[] = [];
  const duplex: number[] = [];
  const ring = new Map<number, number[]>([
    [2, []],
    [4, []],
  ]);
  const measureBaselines = async () => {
    for (let k = 0; k < 2; k++) raw.push(await rawTcp(Math.max(64, maxMb)));
    for (let k = 0; k < 2; k++) duplex.push(await rawDuplex(Math.max(64, maxMb)));
    for (const [n, xs] of ring) for (let k = 0; k < 2; k++) xs.push(await rawRing(n, Math.max(64, maxMb)));
  };
  await measureBaselines();
  if (process.argv.includes("--baselines-only")) {
    process.stderr.write(`${JSON.stringify({ raw, duplex, ring: Object.fromEntries(ring) })}\n`);
    return;
  }
  const rows: Row[] = [];
  const latency: Latency[] = [];
  for (const ranks of [2, 4])
    for (const pathEnv of PATH_ENVS) {
      const out = await launchRanks({
        nproc: ranks,
        what: `bench ranks=${ranks} ${JSON.stringify(pathEnv)}`,
        command: [
          process.execPath,
          "--import",
          "tsx",
          self,
          "--worker",
          "--max-mb",
          String(maxMb),
          "--iters",
          String(iters),
          ...(pieceElems ? ["--piece-elems", String(pieceElems)] : []),
        ],
        env: { ...process.env, ...pathEnv },
      });
      const got = resultLine<{ rows: Row[]; latency: Latency }>(out);
      rows.push(...got.rows);
      latency.push(got.latency);
    }
  await measureBaselines();
  const rawGBps = median(raw);
  const duplexGBps = median(duplex);
  const ringGBps = new Map([...ring].map(([n, xs]) => [n, median(xs)]));
  process.stderr.write(
    `raw loopback TCP (before+after): ${rawGBps.toFixed(3)} GB/s one way, ${duplexGBps.toFixed(3)} GB/s per direction duplex\n`,
  );
  const result = {
    bench: "fsdp-sharding collectives on one machine: shared memory and the TCP ring, vs raw loopback TCP",
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    loadavgAtStart: loadavg(),
    iters,
    baseline: {
      rawLoopbackTcpGBps: rawGBps,
      samples: raw,
      rawDuplexPerDirectionGBps: duplexGBps,
      duplexSamples: duplex,
      rawRingPerLinkGBps: Object.fromEntries(ringGBps),
      ringSamples: Object.fromEntries(ring),
    },
    rows: rows.map((r) => ({
      ...r,
      busOverRaw: r.busGBps / rawGBps,
      busOverDuplex: r.busGBps / duplexGBps,
      busOverRawRing: r.busGBps / ringGBps.get(r.ranks)!,
    })),
    latency,
    note: "All ranks share this machine's cores; on a loaded 2-core box the numbers measure CPU contention as much as the protocol.",
  };
  const path = writeResult("fsdp", result);
  process.stderr.write(`wrote ${path}\n`);
}

if (process.argv.includes("--worker")) await worker();
else if (process.argv.includes("--raw-ring-member")) {
  const at = process.argv.indexOf("--raw-ring-member");
  rawRingMember(
    Number(process.argv[at + 1]),
    process.argv[at + 2].split(",").map(Number),
    Number(process.argv[at + 3]),
  );
} else if (process.argv.includes("--raw-sender"))
  rawSender(
    Number(process.argv[process.argv.indexOf("--raw-sender") + 1]),
    Number(process.argv[process.argv.indexOf("--raw-sender") + 2]),
  );
else await main();
