import { createServer, type Server, type Socket } from "node:net";
import { CollectiveMismatchError, DistributedError, PeerFailureError } from "../errors.js";
import { type Frame, FramedSocket, FrameKind } from "../runtime/framing.js";
import { acceptHandshake, offerHandshake } from "../runtime/handshake.js";
import { connectWithRetry } from "../runtime/tcp-store.js";

export const OP_NAMES = ["", "allReduce", "reduceScatter", "allGather", "broadcast", "barrier"] as const;
export type OpCode = 1 | 2 | 3 | 4 | 5;

/**
 * This rank's one listening socket. Every ring connection into this rank arrives here, proves the secret,
 * and says which ring (group) and which rank it comes from; `accept` hands it to the ring waiting for it.
 */
export class PeerListener {
  private readonly ready = new Map<string, FramedSocket>();
  private readonly waiting = new Map<
    string,
    { take: (fs: FramedSocket) => void; stop: (e: Error) => void }
  >();
  /** Ring links already handed out: a second connection claiming one of them is refused. */
  private readonly taken = new Set<string>();
  /** Sockets accepted but not handed out (handshaking, or waiting for `accept`): `close` ends them. */
  private readonly unclaimed = new Set<Socket>();
  private closed = false;

  private constructor(
    private readonly server: Server,
    readonly port: number,
    secret: string,
    private readonly handshakeTimeoutMs: number,
  ) {
    server.on("connection", async (sock) => {
      this.unclaimed.add(sock);
      sock.once("close", () => this.unclaimed.delete(sock));
      const fs = new FramedSocket(sock);
      try {
        const hello = await acceptHandshake(fs, secret, this.handshakeTimeoutMs, (h) =>
          this.taken.has(linkKey(h)) || this.ready.has(linkKey(h))
            ? `rank ${h?.from} already has its ${h?.group} ring link to this rank (another job on this address?)`
            : null,
        );
        const key = linkKey(hello);
        const w = this.waiting.get(key);
        if (w) {
          this.waiting.delete(key);
          this.hand(key, sock);
          w.take(fs);
        } else this.ready.set(key, fs);
      } catch (e) {
        if (!this.closed) process.stderr.write(`biomed-llama: ${(e as Error).message}\n`);
      }
    });
  }

  static listen(host: string, secret: string, handshakeTimeoutMs: number): Promise<PeerListener> {
    return new Promise((resolve, reject) => {
      const server = createServer();
      server.once("error", (e) => reject(new DistributedError(`cannot listen on ${host}: ${e.message}`)));
      server.listen(0, host, () => {
        const addr = server.address();
        const port = typeof addr === "object" && addr ? addr.port : 0;
        resolve(new PeerListener(server, port, secret, handshakeTimeoutMs));
      });
    });
  }

  private hand(key: string, sock: Socket): void {
    this.taken.add(key);
    this.unclaimed.delete(sock);
  }

  accept(group: string, from: number, timeoutMs: number): Promise<FramedSocket> {
    const key = `${group}/${from}`;
    const have = this.ready.get(key);
    if (have) {
      this.ready.delete(key);
      this.hand(key, have.socket);
      return Promise.resolve(have);
    }
    if (this.closed) return Promise.reject(new DistributedError(`the ${group} ring listener is closed`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(key);
        reject(
          new PeerFailureError(
            `rank ${from} did not connect to this rank's ${group} ring within ${timeoutMs} ms`,
            from,
          ),
        );
      }, timeoutMs);
      this.waiting.set(key, {
        take: (fs) => {
          clearTimeout(timer);
          resolve(fs);
        },
        stop: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
  }

  /** Stops listening and ends every connection not handed out, so none keeps the process alive. */
  close(): void {
    this.closed = true;
    this.server.close();
    for (const s of this.unclaimed) s.destroy();
    this.unclaimed.clear();
    this.ready.clear();
    for (const [key, w] of this.waiting)
      w.stop(new DistributedError(`the ring listener closed while waiting for ${key}`));
    this.waiting.clear();
  }
}

const linkKey = (hello: any) => `${hello?.group}/${hello?.from}`;

export async function connectRing(opts: {
  host: string;
  port: number;
  secret: string;
  group: string;
  from: number;
  to: number;
  timeoutMs: number;
}): Promise<FramedSocket> {
  const sock = await connectWithRetry(opts.host, opts.port, Date.now() + opts.timeoutMs, `rank ${opts.to}`);
  const fs = new FramedSocket(sock);
  await offerHandshake(
    fs,
    opts.secret,
    { role: "ring", group: opts.group, from: opts.from },
    opts.timeoutMs,
    `rank ${opts.to}`,
  );
  return fs;
}

interface Waiter {
  resolve: (f: Frame) => void;
  reject: (e: Error) => void;
}

/**
 * One ring's two directed links: frames go to the next rank and come from the previous one. Incoming
 * frames queue in order; a failure (socket loss, abort notice, timeout) rejects what waits and everything
 * after, so a broken ring can never hang a collective.
 */
export class RingChannel {
  private readonly queue: Frame[] = [];
  private waiter: Waiter | null = null;
  private failure: Error | null = null;
  private onFail: (() => void)[] = [];
  /** Set once every rank has finished its last collective: socket closes are then expected. */
  closing = false;
  /** Called when a socket drops, before failing, so the owner can prefer the job-wide verdict. */
  onPeerLost: (rank: number, err: PeerFailureError) => void = (_r, e) => this.fail(e);

  constructor(
    readonly group: string,
    readonly nextRank: number,
    readonly prevRank: number,
    private readonly toNext: FramedSocket,
    private readonly fromPrev: FramedSocket,
  ) {
    fromPrev.onFrame = (f) => {
      if (this.failure) return;
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = null;
        w.resolve(f);
      } else this.queue.push(f);
    };
    const lost = (rank: number) => (err: Error | null) => {
      if (this.closing || this.failure) return;
      const why = err ? `: ${err.message}` : "";
      this.onPeerLost(
        rank,
        new PeerFailureError(`rank ${rank} closed its connection (${group} ring)${why}`, rank),
      );
    };
    fromPrev.onClose = lost(prevRank);
    toNext.onClose = lost(nextRank);
    // Nothing flows back on the sending link; a frame there means a confused peer.
    toNext.onFrame = () => {};
  }

  get failed(): Error | null {
    return this.failure;
  }

  fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    this.queue.length = 0;
    for (const f of this.onFail.splice(0)) f();
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w.reject(err);
    }
  }

  /**
   * The returned promise never goes unobserved-rejected on its own (callers collect many sends and look
   * at them later). A failed write waits briefly for the channel's verdict, which may name a different
   * culprit than the neighbour whose socket broke (it may only be exiting because of the real failure).
   */
  send(op: OpCode, seq: number, step: number, payload: Uint8Array): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    const p = this.toNext.send(FrameKind.Data, op, seq, step, payload).catch(async (e) => {
      if (!this.failure)
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 3000);
          this.onFail.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      throw (
        this.failure ??
        new PeerFailureError(
          `rank ${this.nextRank} closed its connection (${this.group} ring): ${e.message}`,
          this.nextRank,
        )
      );
    });
    p.catch(() => {});
    return p;
  }

  /** Next frame from the previous rank, which must carry exactly this tag and size. */
  async recv(op: OpCode, seq: number, step: number, bytes: number): Promise<Buffer> {
    if (this.failure) throw this.failure;
    const f =
      this.queue.shift() ??
      (await new Promise<Frame>((resolve, reject) => {
        this.waiter = { resolve, reject };
      }));
    if (
      f.kind !== FrameKind.Data ||
      f.op !== op ||
      f.seq !== seq ||
      f.step !== step ||
      f.payload.length !== bytes
    ) {
      const err = new CollectiveMismatchError(
        `collective mismatch on the ${this.group} ring: rank ${this.prevRank} sent ${OP_NAMES[f.op] ?? `op ${f.op}`} #${f.seq} ` +
          `step ${f.step} (${f.payload.length} bytes) while this rank expected ${OP_NAMES[op]} #${seq} step ${step} (${bytes} bytes)`,
      );
      this.fail(err);
      throw err;
    }
    return f.payload;
  }

  close(): void {
    this.closing = true;
    this.toNext.close();
    this.fromPrev.close();
  }
}
