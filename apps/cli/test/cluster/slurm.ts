// A one-node Slurm cluster of the test's own: munged, slurmctld and slurmd started as child processes
// on free ports with every file in one temp directory (no systemd, nothing under /etc or /run), and
// torn down — daemons killed, directory removed — by stop(), also after a failed test.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "@biomed-llama/fsdp-sharding";

export interface SlurmCluster {
  /** Environment for srun / sbatch / squeue: SLURM_CONF of this cluster. */
  env: NodeJS.ProcessEnv;
  dir: string;
  stop(): Promise<void>;
}

const BINARIES = ["munged", "slurmctld", "slurmd", "srun", "sbatch", "sinfo"];

/** Why a one-node Slurm cannot be started here, or null. */
export function slurmUnavailable(): string | null {
  if (process.getuid?.() !== 0) return "not root (slurmd and munged run as root in this one-node setup)";
  for (const b of BINARIES)
    if (spawnSync("sh", ["-c", `command -v ${b}`]).status !== 0)
      return `${b} is not installed (scripts/setup.sh installs slurm-wlm and munge)`;
  if (!existsSync("/etc/munge/munge.key"))
    return "/etc/munge/munge.key is missing (the munge package creates it)";
  return null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startSlurm(): Promise<SlurmCluster> {
  const dir = mkdtempSync(join(tmpdir(), "slurm-"));
  chmodSync(dir, 0o755); // munged wants its socket's directory searchable by all
  for (const d of ["state", "spool"]) mkdirSync(join(dir, d));
  const children: ChildProcess[] = [];
  const host = hostname();
  const stop = async () => {
    for (const c of children) if (c.exitCode === null) c.kill("SIGTERM");
    const deadline = Date.now() + 5000;
    while (children.some((c) => c.exitCode === null && c.signalCode === null) && Date.now() < deadline)
      await sleep(50);
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const socket = join(dir, "munge.sock");
    const start = (cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env) => {
      const c = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"], env });
      let err = "";
      c.stderr?.on("data", (b) => {
        err = (err + b).slice(-4000);
      });
      c.on("exit", (code) => {
        if (code) writeFileSync(join(dir, `${cmd.split("/").pop()}.exit`), `${code}\n${err}`);
      });
      children.push(c);
      return c;
    };
    start("munged", [
      "-F",
      "-f",
      `--socket=${socket}`,
      `--pid-file=${join(dir, "munged.pid")}`,
      `--log-file=${join(dir, "munged.log")}`,
      `--seed-file=${join(dir, "munged.seed")}`,
    ]);
    for (let i = 0; i < 100 && !existsSync(socket); i++) await sleep(50);
    if (!existsSync(socket)) throw new Error(`munged did not create ${socket}`);
    const [ctldPort, dPort] = [await freePort(), await freePort()];
    const conf = join(dir, "slurm.conf");
    writeFileSync(
      conf,
      [
        "ClusterName=biomed",
        `SlurmctldHost=${host}(127.0.0.1)`,
        "SlurmUser=root",
        "SlurmdUser=root",
        "AuthType=auth/munge",
        `AuthInfo=socket=${socket}`,
        "CredType=cred/munge",
        `StateSaveLocation=${join(dir, "state")}`,
        `SlurmdSpoolDir=${join(dir, "spool")}`,
        `SlurmctldPidFile=${join(dir, "slurmctld.pid")}`,
        `SlurmdPidFile=${join(dir, "slurmd.pid")}`,
        `SlurmctldPort=${ctldPort}`,
        `SlurmdPort=${dPort}`,
        "ProctrackType=proctrack/linuxproc",
        "TaskPlugin=task/none",
        "SwitchType=switch/none",
        "MpiDefault=none",
        "ReturnToService=2",
        "SchedulerType=sched/builtin",
        "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_Core",
        // the node's hardware as slurmd finds it wins over the line below
        "SlurmdParameters=config_overrides",
        "JobCompType=jobcomp/none",
        "AccountingStorageType=accounting_storage/none",
        `SlurmctldLogFile=${join(dir, "slurmctld.log")}`,
        `SlurmdLogFile=${join(dir, "slurmd.log")}`,
        `NodeName=${host} NodeAddr=127.0.0.1 CPUs=${cpus().length} State=UNKNOWN`,
        "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES",
        "",
      ].join("\n"),
    );
    const env = { ...process.env, SLURM_CONF: conf };
    start("slurmctld", ["-D", "-f", conf], env);
    start("slurmd", ["-D", "-f", conf], env);
    for (let i = 0; i < 200; i++) {
      const r = spawnSync("sinfo", ["-h", "-o", "%T"], { env, encoding: "utf8" });
      if (r.stdout.trim() === "idle") return { env, dir, stop };
      await sleep(100);
    }
    const logs = ["slurmctld.log", "slurmd.log"]
      .map((f) => (existsSync(join(dir, f)) ? readFileSync(join(dir, f), "utf8").slice(-800) : ""))
      .join("\n");
    throw new Error(`the one-node Slurm did not become idle within 20 s:\n${logs}`);
  } catch (e) {
    await stop();
    throw e;
  }
}
