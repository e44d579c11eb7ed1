// "Hosts" on one machine: Linux network namespaces joined by a veth pair, each with its own address,
// so ranks on different hosts talk over a real (virtual) NIC that a test can slow down (tc tbf), stall
// or cut (ip link set down). Created by the test, removed by teardown() — registered on process exit
// too, so a failed or killed test leaves no namespace behind.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";

export interface Host {
  /** Network namespace name. */
  ns: string;
  /** This host's address on the link. */
  addr: string;
  /** Its end of the veth pair. */
  dev: string;
}

export interface Hosts {
  hosts: Host[];
  /** Runs `argv` inside host i's namespace with `env` added. */
  spawn(i: number, argv: string[], env: NodeJS.ProcessEnv): ChildProcess;
  /** Takes the link down (both ends) or brings it back up. */
  setLink(up: boolean): void;
  /** Limits host i's outgoing rate with a token bucket, e.g. "1gbit". */
  limitRate(i: number, rate: string): void;
  /** TCP sockets listening in host i: their local "address:port". */
  listeners(i: number): string[];
  teardown(): void;
}

function ip(args: string[]): void {
  const r = spawnSync("ip", args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`ip ${args.join(" ")}: ${r.stderr.trim() || `exit ${r.status}`}`);
}

/** Why namespaces cannot be made here (not root, no iproute2, a kernel that refuses), or null. */
export function netnsUnavailable(): string | null {
  if (process.getuid?.() !== 0) return "not root (ip netns needs CAP_SYS_ADMIN)";
  if (spawnSync("sh", ["-c", "command -v ip && command -v tc && command -v ss"]).status !== 0)
    return "ip / tc / ss are not installed (scripts/setup.sh installs iproute2)";
  const probe = `blprobe${process.pid}`;
  const r = spawnSync("ip", ["netns", "add", probe], { encoding: "utf8" });
  if (r.status !== 0) return `the kernel refuses network namespaces: ${r.stderr.trim()}`;
  spawnSync("ip", ["netns", "del", probe]);
  return null;
}

/** Two hosts, 10.231.0.1 and 10.231.0.2, on one veth link (addresses exist only inside the namespaces). */
export function createHosts(): Hosts {
  const tag = `bl${process.pid}`;
  const hosts: Host[] = [0, 1].map((i) => ({
    ns: `${tag}h${i}`,
    addr: `10.231.0.${i + 1}`,
    dev: `${tag}v${i}`,
  }));
  const teardown = () => {
    for (const h of hosts) spawnSync("ip", ["netns", "del", h.ns]);
  };
  process.once("exit", teardown);
  try {
    for (const h of hosts) ip(["netns", "add", h.ns]);
    ip(["link", "add", hosts[0].dev, "type", "veth", "peer", "name", hosts[1].dev]);
    for (const h of hosts) {
      ip(["link", "set", h.dev, "netns", h.ns]);
      ip(["-n", h.ns, "addr", "add", `${h.addr}/24`, "dev", h.dev]);
      ip(["-n", h.ns, "link", "set", h.dev, "up"]);
      ip(["-n", h.ns, "link", "set", "lo", "up"]);
    }
  } catch (e) {
    teardown();
    throw e;
  }
  return {
    hosts,
    spawn: (i, argv, env) =>
      spawn("ip", ["netns", "exec", hosts[i].ns, ...argv], {
        env: { ...process.env, ...env },
        stdio: ["ignore", "pipe", "pipe"],
      }),
    setLink: (up) => {
      for (const h of hosts) ip(["-n", h.ns, "link", "set", h.dev, up ? "up" : "down"]);
    },
    limitRate: (i, rate) => {
      const h = hosts[i];
      const r = spawnSync(
        "tc",
        [
          "-n",
          h.ns,
          "qdisc",
          "replace",
          "dev",
          h.dev,
          "root",
          "tbf",
          "rate",
          rate,
          "burst",
          "256kb",
          "latency",
          "100ms",
        ],
        { encoding: "utf8" },
      );
      if (r.status !== 0) throw new Error(`tc tbf on ${h.ns}: ${r.stderr.trim()}`);
    },
    listeners: (i) => {
      const r = spawnSync("ip", ["netns", "exec", hosts[i].ns, "ss", "-ltnH"], { encoding: "utf8" });
      return r.stdout
        .split("\n")
        .filter(Boolean)
        .map((l) => l.trim().split(/\s+/)[3]);
    },
    teardown: () => {
      teardown();
      process.removeListener("exit", teardown);
    },
  };
}
