// Bus bandwidth of all-reduce / reduce-scatter / all-gather for 1–64 MB (--max-mb 256: up to 256 MB) float32 buffers on 2 and 4 local
// ranks: fsdp-sharding's Open MPI transport (mpirun) against its own default process group — shared
// memory between ranks of one machine ("shm": single-copy / staged) — and its TCP ring
// (BIOMED_LLAMA_SHM=0), measured in the same run.
// Bus bandwidth follows nccl-tests: all-reduce algbw·2(n-1)/n, reduce-scatter / all-gather algbw·(n-1)/n,
// algbw = full buffer bytes / time; a collective's time is the slowest rank's median.
// Run: pnpm --filter @biomed-llama/mpi-addon build && pnpm --filter @biomed-llama/fsdp-sharding build \
//        && pnpm tsx bench/fsdp-mpi-bandwidth.ts [--max-mb 64] [--iters 5]
// Needs mpirun (apt-get install openmpi-bin libopenmpi-dev). Writes bench/results/fsdp-mpi.json.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
// bench/ is not a workspace dependent of the package, so it loads the built entry by path.
import {
  freePort,
  initMpiProcessGroup,
  initProcessGroup,
  type ProcessGroup,
} from "../packages/fsdp-sharding/dist/index.js";
import { writeResult } from "./write-result.js";

const self = fileURLToPath(import.meta.url);
const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};
const maxMb = arg("max-mb", 64);
const iters = arg("iters", 5);
const sizesMb = [1, 4, 16, 64, 256].filter((m) => m <= maxMb);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

interface Row {
  transport: "mpi" | "tcp" | "shm";
  op: string;
  ranks: number;
  mb: number;
  medianSeconds: number;
  algGBps: number;
  busGBps: number;
}

async function worker(transport: "mpi" | "tcp" | "shm", outFile: string): Promise<void> {
  const g: ProcessGroup =
    transport === "mpi"
      ? await initMpiProcessGroup({ timeoutMs: 600_000 })
      : await initProcessGroup({ timeoutMs: 600_000 });
  const n = g.size;
  const rows: Row[] = [];
  for (const mb of sizesMb) {
    const elems = Math.floor((mb * 1024 * 1024) / 4 / n) * n;
    const bytes = elems * 4;
    const buf = new Float32Array(elems).fill(1);
    const chunk = new Float32Array(elems / n).fill(1);
    const ops: [string, number, () => Promise<unknown>][] = [
      ["allReduce", (2 * (n - 1)) / n, () => g.allReduce(buf)],
      ["reduceScatter", (n - 1) / n, () => g.reduceScatter(buf)],
      ["allGather", (n - 1) / n, () => g.allGather(chunk)],
    ];
    for (const [op, factor, run] of ops) {
      await run(); // warm-up: JIT, socket buffers, MPI connection set-up
      const times: number[] = [];
      for (let k = 0; k < iters; k++) {
        await g.barrier();
        const t0 = process.hrtime.bigint();
        await run();
        times.push(Number(process.hrtime.bigint() - t0) / 1e9);
      }
      const t = new Float32Array([median(times)]);
      await g.allReduce(t, "max");
      const alg = bytes / t[0] / 1e9;
      rows.push({ transport, op, ranks: n, mb, medianSeconds: t[0], algGBps: alg, busGBps: alg * factor });
      if (g.rank === 0)
        process.stderr.write(`${transport} ${op} n=${n} ${mb} MB: bus ${(alg * factor).toFixed(3)} GB/s\n`);
    }
  }
  if (g.rank === 0) writeFileSync(outFile, JSON.stringify(rows));
  await g.destroy();
}

function exited(child: ReturnType<typeof spawn>, what: string): Promise<void> {
  return new Promise((resolve, reject) =>
    child.on("close", (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`${what} exited with ${code ?? signal}`)),
    ),
  );
}

const workerArgs = (transport: string, out: string) => [
  "--import",
  "tsx",
  self,
  "--worker",
  transport,
  out,
  "--max-mb",
  String(maxMb),
  "--iters",
  String(iters),
];

async function runMpi(ranks: number, out: string): Promise<void> {
  const child = spawn(
    "mpirun",
    [
      "--allow-run-as-root",
      "--oversubscribe",
      "-np",
      String(ranks),
      process.execPath,
      ...workerArgs("mpi", out),
    ],
    { stdio: ["ignore", "inherit", "inherit"] },
  );
  await exited(child, `mpirun -np ${ranks}`);
}

/**
 * Our own process group; its ranks get torchrun's variables directly (what `biomed-llama launch` sets).
 * "tcp" switches shared memory off, "shm" is the default on one machine.
 */
async function runOwn(transport: "tcp" | "shm", ranks: number, out: string): Promise<void> {
  const port = await freePort();
  const children = Array.from({ length: ranks }, (_, rank) =>
    spawn(process.execPath, workerArgs(transport, out), {
      stdio: ["ignore", "inherit", "inherit"],
      env: {
        ...process.env,
        RANK: String(rank),
        WORLD_SIZE: String(ranks),
        LOCAL_RANK: String(rank),
        LOCAL_WORLD_SIZE: String(ranks),
        MASTER_ADDR: "127.0.0.1",
        MASTER_PORT: String(port),
        BIOMED_LLAMA_SECRET: "bench",
        BIOMED_LLAMA_SHM: transport === "tcp" ? "0" : "1",
      },
    }),
  );
  await Promise.all(children.map((c, r) => exited(c, `${transport} rank ${r}`)));
}

async function main(): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), "fsdp-mpi-bench-"));
  const rows: Row[] = [];
  let mpiVersion = "";
  try {
    for (const ranks of [2, 4])
      for (const transport of ["mpi", "shm", "tcp"] as const) {
        const out = join(tmp, `${transport}-${ranks}.json`);
        await (transport === "mpi" ? runMpi(ranks, out) : runOwn(transport, ranks, out));
        rows.push(...(JSON.parse(readFileSync(out, "utf8")) as Row[]));
      }
    const addon = await import("../packages/mpi-addon/dist/index.js");
    mpiVersion = addon.mpiLibraryVersion().split(",")[0];
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const busOf = (transport: Row["transport"], r: Row) =>
    rows.find((t) => t.transport === transport && t.op === r.op && t.ranks === r.ranks && t.mb === r.mb)!
      .busGBps;
  const result = {
    bench:
      "fsdp-sharding process-group collectives: Open MPI transport vs our shared-memory path and TCP ring, same run",
    date: new Date().toISOString(),
    node: process.version,
    mpi: mpiVersion,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    loadavgAtStart: loadavg(),
    iters,
    rows: rows.map((r) =>
      r.transport === "mpi"
        ? { ...r, mpiOverShm: r.busGBps / busOf("shm", r), mpiOverTcp: r.busGBps / busOf("tcp", r) }
        : r,
    ),
    note: "One machine: MPI moves data through shared memory (vader BTL, CMA where allowed), ours through shared memory (single-copy process_vm_readv where allowed, else staged) or, as 'tcp', loopback sockets. All ranks share this machine's cores, so on a loaded 2-core box the numbers measure CPU contention as much as the transports.",
  };
  const path = writeResult("fsdp-mpi", result);
  process.stderr.write(`wrote ${path}\n`);
}

const w = process.argv.indexOf("--worker");
if (w >= 0) await worker(process.argv[w + 1] as Row["transport"], process.argv[w + 2]);
else await main();
