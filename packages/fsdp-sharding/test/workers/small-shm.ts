// Run under `ulimit -f` (a stand-in for a small /dev/shm): opens a one-member shared arena with a real
// store and prints the region size member 0 settled on, or the refusal.

import { freePort } from "../../src/runtime/free-port.js";
import { TcpStoreClient, TcpStoreServer } from "../../src/runtime/tcp-store.js";
import { loadShmAddon, openSharedArena, sharedMemorySettings } from "../../src/transports/shared-arena.js";

process.on("SIGXFSZ", () => {}); // report EFBIG instead of dying
const port = await freePort();
const server = await TcpStoreServer.listen({
  host: "127.0.0.1",
  port,
  secret: "s",
  handshakeTimeoutMs: 5000,
  heartbeatMs: 100,
});
const store = await TcpStoreClient.connect({
  host: "127.0.0.1",
  port,
  secret: "s",
  rank: 0,
  timeoutMs: 5000,
  heartbeatMs: 100,
});
const { addon, reason } = await loadShmAddon();
if (!addon) throw new Error(reason);
const { arena, reason: refusal } = await openSharedArena({
  store,
  group: "world",
  members: [0],
  index: 0,
  addon,
  settings: sharedMemorySettings({}),
  timeoutMs: 5000,
});
process.stdout.write(JSON.stringify({ regionElems: arena?.regionElems ?? null, refusal }));
await store.close();
await server.close();
