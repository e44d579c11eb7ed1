import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { DistributedError } from "../errors.js";

/** The lowest port Linux draws for bind(0) and outgoing connections (its default where unreadable). */
function ephemeralLow(): number {
  try {
    const lo = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    if (lo > 0) return lo;
  } catch {
    // Not Linux: assume Linux's default, which is also below the IANA dynamic range (49152–65535).
  }
  return 32768;
}

const LOWEST = 10_000;
const handedOut = new Set<number>();

function tryListen(host: string, port: number): Promise<number | null> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(null));
    s.listen(port, host, () => {
      const a = s.address();
      const got = typeof a === "object" && a ? a.port : null;
      s.close(() => resolve(got));
    });
  });
}

/**
 * A TCP port free on `host` now, for MASTER_PORT, chosen outside the kernel's ephemeral range. A port from
 * bind(0) comes from that range, which every outgoing connection draws from too: between choosing it and
 * rank 0 binding it, a connection (another rank's, starting up) can take it, and rank 0 then fails with
 * EADDRINUSE while the other ranks may join whatever store holds the port. A port below the range is only
 * taken by someone binding that very number. Never the same port twice in one process. Falls back to
 * bind(0) where the range leaves no room below it.
 */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  const hi = ephemeralLow() - 1;
  if (hi - LOWEST >= 1000)
    for (let attempt = 0; attempt < 64; attempt++) {
      const port = LOWEST + Math.floor(Math.random() * (hi - LOWEST + 1));
      if (handedOut.has(port)) continue;
      if ((await tryListen(host, port)) !== null) {
        handedOut.add(port);
        return port;
      }
    }
  const port = await tryListen(host, 0);
  if (port === null) throw new DistributedError(`cannot find a free port on ${host}`);
  return port;
}
