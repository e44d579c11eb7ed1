// For a rank of a test world: on SIGUSR2 (sent by helpers/world.ts when a world overruns its deadline)
// print what this rank is doing — the phase its script set, and its latest collectives with whether
// each finished — so a hung world fails with every rank's whereabouts rather than a bare timeout.
import { TcpProcessGroup } from "../../src/index.js";

let phase = "starting";
const recent: string[] = [];
let calls = 0;

export function setPhase(p: string): void {
  phase = p;
}

const METHODS = ["allReduce", "reduceScatter", "allGather", "broadcast", "barrier"] as const;
const proto = TcpProcessGroup.prototype as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
for (const m of METHODS) {
  const original = proto[m];
  proto[m] = function (this: TcpProcessGroup, ...args: unknown[]) {
    const entry = `${this.name} ${m} call ${++calls}`;
    recent.push(`${entry} (pending)`);
    if (recent.length > 4) recent.shift();
    const mark = (how: string) => {
      const i = recent.indexOf(`${entry} (pending)`);
      if (i >= 0) recent[i] = `${entry} (${how})`;
    };
    const p = original.apply(this, args);
    p.then(
      () => mark("done"),
      () => mark("failed"),
    );
    return p;
  };
}

process.on("SIGUSR2", () => {
  process.stderr.write(`[phase: ${phase}; latest collectives: ${recent.join(", ") || "none"}]\n`);
});
