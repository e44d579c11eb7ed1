import { createServer, connect as tcpConnect } from "node:net";
import { afterEach, expect, test } from "vitest";
import { AuthenticationError, DistributedError } from "../src/errors.js";
import { freePort } from "../src/runtime/free-port.js";
import { type AbortNotice, TcpStoreClient, TcpStoreServer } from "../src/runtime/tcp-store.js";

const SECRET = "correct horse battery staple";
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function store(worldSize?: number): Promise<{ server: TcpStoreServer; port: number }> {
  const port = await freePort();
  const server = await TcpStoreServer.listen({
    host: "127.0.0.1",
    port,
    secret: SECRET,
    handshakeTimeoutMs: 5000,
    heartbeatMs: 100,
    worldSize,
  });
  cleanup.push(() => server.close());
  return { server, port };
}

async function client(
  port: number,
  rank: number,
  secret = SECRET,
  worldSize?: number,
): Promise<TcpStoreClient> {
  const c = await TcpStoreClient.connect({
    host: "127.0.0.1",
    port,
    secret,
    rank,
    worldSize,
    timeoutMs: 5000,
    heartbeatMs: 100,
  });
  cleanup.push(() => c.close());
  return c;
}

test("set / blocking get / wait / atomic add", async () => {
  const { port } = await store();
  const a = await client(port, 0);
  const b = await client(port, 1);
  const pending = b.get("addr/0"); // blocks until set
  const waited = b.wait(["x", "y"]);
  await a.set("addr/0", "127.0.0.1:4242");
  expect(await pending).toBe("127.0.0.1:4242");
  await a.set("x", "1");
  await a.set("y", "2");
  await waited;
  const adds = await Promise.all([a.add("n", 2), b.add("n", 3), a.add("n", 5)]);
  expect(adds.sort((p, q) => p - q).at(-1)).toBe(10);
  await expect(b.get("never", 200)).rejects.toThrow(/store get "never" timed out after 200 ms/);
});

test("a client with the wrong secret is refused and learns nothing", async () => {
  const { port } = await store();
  await expect(client(port, 1, "wrong")).rejects.toBeInstanceOf(AuthenticationError);
  await expect(client(port, 1, "wrong")).rejects.toThrow(/authentication failed/);
});

test("a client that drops without goodbye becomes an abort notice naming its rank, for everyone", async () => {
  const { port } = await store();
  const a = await client(port, 0);
  const b = await client(port, 1);
  const notices: AbortNotice[] = [];
  const got = new Promise<void>((r) => {
    a.onAbort = (n) => {
      notices.push(n);
      r();
    };
  });
  (b as any).fs.socket.destroy(); // as if the process died
  await got;
  expect(notices).toEqual([{ rank: 1, reason: "rank 1 exited or lost its connection" }]);
});

test("the shared secret never crosses the wire", async () => {
  const { port } = await store();
  // A recording proxy between client and store.
  const seen: Buffer[] = [];
  const proxy = createServer((inbound) => {
    const outbound = tcpConnect({ host: "127.0.0.1", port });
    inbound.on("data", (d) => {
      seen.push(d);
      outbound.write(d);
    });
    outbound.on("data", (d) => {
      seen.push(d);
      inbound.write(d);
    });
    inbound.on("close", () => outbound.destroy());
    outbound.on("close", () => inbound.destroy());
  });
  const proxyPort: number = await new Promise((r) =>
    proxy.listen(0, "127.0.0.1", () => r((proxy.address() as any).port)),
  );
  cleanup.push(() => new Promise((r) => proxy.close(() => r())));
  const c = await client(proxyPort, 3);
  await c.set("k", "v");
  expect(await c.get("k")).toBe("v");
  const wire = Buffer.concat(seen);
  expect(wire.length).toBeGreaterThan(100);
  expect(wire.includes(Buffer.from(SECRET))).toBe(false);
  expect(wire.includes(Buffer.from("challenge"))).toBe(true);
});

test("before authenticating, a peer cannot make the store buffer a huge frame", async () => {
  const { port } = await store();
  const sock = tcpConnect({ host: "127.0.0.1", port });
  await new Promise((r) => sock.once("connect", r));
  const closed = new Promise<void>((r) => sock.once("close", () => r()));
  sock.on("error", () => {});
  sock.resume(); // read (and drop) the challenge so the hang-up is seen
  const head = Buffer.alloc(16);
  head.writeUInt32LE(512 * 1024 * 1024, 0); // claims 512 MiB
  head.writeUInt8(2, 4);
  sock.write(head);
  await closed; // the store hangs up instead of waiting for (and buffering) the payload
});

test("a second connection for a connected rank, a rank of another world size or outside it, is refused", async () => {
  const { port } = await store(2);
  const a = await client(port, 0, SECRET, 2);
  await client(port, 1, SECRET, 2);
  // Another job given the same MASTER_PORT and secret (its own rank 0 could not bind the port).
  const twice = client(port, 1, SECRET, 2);
  await expect(twice).rejects.toBeInstanceOf(DistributedError);
  await expect(twice).rejects.toThrow(
    `the rendezvous store refused the connection: rank 1 is already connected to this store (another job on port ${port}? give each job its own MASTER_PORT)`,
  );
  await expect(client(port, 2, SECRET, 4)).rejects.toThrow(
    /this store serves a job of WORLD_SIZE=2, not 4 \(another job on port \d+\?/,
  );
  await expect(client(port, 5)).rejects.toThrow(/rank 5 is outside this store's job of WORLD_SIZE=2/);
  // The job's own ranks are unaffected.
  await a.set("still", "here");
  expect(await a.get("still")).toBe("here");
});

test("a rank that said goodbye may connect again (a later job phase reusing the store)", async () => {
  const { port } = await store(2);
  const b = await client(port, 1, SECRET, 2);
  await b.close();
  const again = await client(port, 1, SECRET, 2);
  await again.set("k", "v");
});

test("closing the store ends connections still in their handshake", async () => {
  const { server, port } = await store();
  const sock = tcpConnect({ host: "127.0.0.1", port });
  await new Promise((r) => sock.once("connect", r));
  sock.on("error", () => {});
  sock.resume(); // read (and drop) the challenge so the hang-up is seen
  const closed = new Promise<void>((r) => sock.once("close", () => r()));
  // Never answers the challenge: without the fix, close() waited for the 5 s handshake timeout.
  const t0 = Date.now();
  await server.close();
  await closed;
  expect(Date.now() - t0).toBeLessThan(1000);
});
