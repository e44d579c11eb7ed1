import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { expect, test } from "vitest";
import { freePort } from "../src/runtime/free-port.js";

test("ports come from below the kernel's ephemeral range, are bindable, and never repeat", async () => {
  const [lo] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/).map(Number);
  const ports: number[] = [];
  for (let i = 0; i < 20; i++) ports.push(await freePort());
  expect(new Set(ports).size).toBe(20);
  for (const p of ports) {
    expect(p).toBeGreaterThanOrEqual(10_000);
    expect(p).toBeLessThan(lo);
  }
  const s = createServer();
  await new Promise<void>((r) => s.listen(ports[0], "127.0.0.1", () => r()));
  await new Promise((r) => s.close(r));
});
