import { expect, test } from "vitest";
import { DistributedError } from "../src/errors.js";
import { connectRing, PeerListener } from "../src/transports/ring-channel.js";

const SECRET = "ring secret";
const link = (port: number, group: string, from: number) =>
  connectRing({ host: "127.0.0.1", port, secret: SECRET, group, from, to: 0, timeoutMs: 5000 });

test("a second connection claiming a ring link already made is refused", async () => {
  const listener = await PeerListener.listen("127.0.0.1", SECRET, 5000);
  try {
    const first = await link(listener.port, "world", 1);
    const accepted = await listener.accept("world", 1, 5000);
    // Another job's rank 1 with the same secret, sent here by a crossed rendezvous.
    await expect(link(listener.port, "world", 1)).rejects.toThrow(
      "rank 0 refused the connection: rank 1 already has its world ring link to this rank (another job on this address?)",
    );
    // Also while the first is still waiting to be accepted.
    const early = await link(listener.port, "intra-node0", 1);
    await expect(link(listener.port, "intra-node0", 1)).rejects.toBeInstanceOf(DistributedError);
    early.close();
    first.close();
    accepted.close();
  } finally {
    listener.close();
  }
});

test("closing the listener ends connections never accepted and fails waiting accepts", async () => {
  const listener = await PeerListener.listen("127.0.0.1", SECRET, 5000);
  const orphan = await link(listener.port, "world", 3);
  const gone = new Promise<void>((r) => {
    orphan.onClose = () => r();
  });
  const waiting = listener.accept("world", 2, 60_000).catch((e: Error) => e);
  listener.close();
  // Without this the orphan socket kept its process alive after the job's teardown.
  await gone;
  expect(String(await waiting)).toMatch(/ring listener closed while waiting for world\/2/);
});
