import { createServer, type Socket, connect as tcpConnect } from "node:net";
import { expect, test } from "vitest";
import { type Frame, FramedSocket, FrameKind, floatsOf, MAX_PAYLOAD_BYTES } from "../src/runtime/framing.js";

async function socketPair(): Promise<[Socket, Socket, () => void]> {
  return new Promise((resolve) => {
    let outbound: Socket;
    const server = createServer((inbound) => resolve([outbound, inbound, () => server.close()]));
    server.listen(0, "127.0.0.1", () => {
      outbound = tcpConnect({ host: "127.0.0.1", port: (server.address() as any).port });
    });
  });
}

test("frames of every size arrive intact, in order, with their tags, and float-viewable", async () => {
  const [a, b, close] = await socketPair();
  const tx = new FramedSocket(a);
  const rx = new FramedSocket(b);
  rx.maxPayloadBytes = MAX_PAYLOAD_BYTES;
  // Sizes straddle the socket's read size, so frames get split across and packed into reads.
  const sizes = [0, 3, 5000, 200_000, 1_000_000, 17, 300_000];
  const got: Frame[] = [];
  const all = new Promise<void>((resolve) => {
    rx.onFrame = (f) => {
      got.push(f);
      if (got.length === sizes.length) resolve();
    };
  });
  const payloads = sizes.map((n, i) => Uint8Array.from({ length: n }, (_, j) => (j * 31 + i) & 255));
  await Promise.all(payloads.map((p, i) => tx.send(FrameKind.Data, 3, 7, i, p)));
  await all;
  expect(got.map((f) => f.step)).toEqual(sizes.map((_, i) => i));
  got.forEach((f, i) => {
    expect([f.kind, f.op, f.seq]).toEqual([FrameKind.Data, 3, 7]);
    expect(Buffer.compare(f.payload, Buffer.from(payloads[i]))).toBe(0);
  });
  // Odd offsets inside a read buffer still give correct float views (copied when unaligned).
  const floats = Float32Array.from([1.5, -2.25, 3]);
  const unaligned = Buffer.alloc(13);
  Buffer.from(floats.buffer).copy(unaligned, 1);
  expect(Array.from(floatsOf(unaligned.subarray(1)))).toEqual([1.5, -2.25, 3]);
  tx.close();
  rx.close();
  close();
});

test("frames that arrive before anyone listens are held and handed over in order (none dropped)", async () => {
  const [a, b, close] = await socketPair();
  const tx = new FramedSocket(a);
  const rx = new FramedSocket(b);
  // A peer done with its set-up sends at once, e.g. the first ring step right after the handshake.
  for (let step = 0; step < 3; step++) await tx.send(FrameKind.Data, 5, 1, step, Uint8Array.of(step));
  await new Promise((r) => setTimeout(r, 100)); // all three are in rx's hands, nobody listening yet
  const got: number[] = [];
  // The first handler takes one frame and lets go (as the handshake does); the next gets the rest.
  rx.onFrame = (f) => {
    got.push(f.step);
    rx.onFrame = null;
  };
  expect(got).toEqual([0]);
  rx.onFrame = (f) => got.push(f.step);
  expect(got).toEqual([0, 1, 2]);
  await tx.send(FrameKind.Data, 5, 1, 3, Uint8Array.of(3));
  await new Promise((r) => setTimeout(r, 50));
  expect(got).toEqual([0, 1, 2, 3]);
  tx.close();
  rx.close();
  close();
});
