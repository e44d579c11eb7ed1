import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net";
import { AuthenticationError, DistributedError, PeerFailureError } from "../errors.js";
import { FramedSocket, parseJsonFrame } from "./framing.js";
import { acceptHandshake, offerHandshake } from "./handshake.js";

/** What every rank learns when the job is being torn down because of one rank. */
export interface AbortNotice {
  rank: number;
  reason: string;
}

interface ClientState {
  rank: number | null;
  bye: boolean;
}

/**
 * torch.distributed's TCPStore, reduced to what rendezvous needs: a key/value map hosted by rank 0 with
 * blocking get/wait and atomic add. It doubles as the job's failure detector: ranks heartbeat to it, a
 * connection lost without a goodbye or a collective timeout is turned into one abort notice (naming one
 * culprit) pushed to every rank, so they all fail with the same message instead of each guessing.
 */
export class TcpStoreServer {
  private readonly data = new Map<string, string>();
  private readonly waiters = new Set<() => boolean>();
  private readonly clients = new Map<FramedSocket, ClientState>();
  private readonly lastBeat = new Map<number, number>();
  /** Every socket accepted and not yet closed, handshaking or not: `close` ends them all. */
  private readonly sockets = new Set<Socket>();
  private aborted: AbortNotice | null = null;

  private constructor(
    private readonly server: Server,
    private readonly secret: string,
    private readonly handshakeTimeoutMs: number,
    private readonly staleMs: number,
    private readonly port: number,
    private readonly worldSize: number | undefined,
  ) {
    server.on("connection", (s) => {
      this.sockets.add(s);
      s.once("close", () => this.sockets.delete(s));
      this.onConnection(s);
    });
  }

  static listen(opts: {
    host: string;
    port: number;
    secret: string;
    handshakeTimeoutMs: number;
    heartbeatMs: number;
    /** When given, a rank outside it, or one claiming another WORLD_SIZE, is refused. */
    worldSize?: number;
  }): Promise<TcpStoreServer> {
    return new Promise((resolve, reject) => {
      const server = createServer();
      server.once("error", (e: NodeJS.ErrnoException) =>
        reject(
          new DistributedError(
            `cannot host the rendezvous store on ${opts.host}:${opts.port} (MASTER_ADDR/MASTER_PORT): ${e.code ?? e.message}` +
              (e.code === "EADDRINUSE"
                ? " — the port is taken (another job?): give this job another MASTER_PORT"
                : ""),
          ),
        ),
      );
      server.listen(opts.port, opts.host, () => {
        const a = server.address();
        const port = typeof a === "object" && a ? a.port : opts.port;
        resolve(
          new TcpStoreServer(
            server,
            opts.secret,
            opts.handshakeTimeoutMs,
            opts.heartbeatMs * 4,
            port,
            opts.worldSize,
          ),
        );
      });
    });
  }

  private async onConnection(sock: Socket): Promise<void> {
    const fs = new FramedSocket(sock);
    let hello: any;
    try {
      hello = await acceptHandshake(fs, this.secret, this.handshakeTimeoutMs, (h) => this.admit(h));
    } catch (e) {
      process.stderr.write(`biomed-llama store: ${(e as Error).message}\n`);
      return;
    }
    const state: ClientState = { rank: typeof hello?.rank === "number" ? hello.rank : null, bye: false };
    this.clients.set(fs, state);
    if (state.rank !== null) this.lastBeat.set(state.rank, Date.now());
    fs.onFrame = (f) => {
      let req: any;
      try {
        req = parseJsonFrame(f);
      } catch {
        fs.close();
        return;
      }
      this.handle(fs, state, req);
    };
    fs.onClose = () => {
      this.clients.delete(fs);
      if (!state.bye && state.rank !== null)
        this.abort({ rank: state.rank, reason: `rank ${state.rank} exited or lost its connection` });
    };
    if (this.aborted) fs.sendJson({ abort: this.aborted }).catch(() => {});
  }

  /**
   * Turns away a second connection for a rank that is already here, and a rank of another world size:
   * both mean another job is using this MASTER_ADDR:MASTER_PORT with the same secret (its own rank 0 then
   * failed to bind the port). Admitting it would cross the two jobs' rendezvous and hang both.
   */
  private admit(hello: any): string | null {
    const rank = hello?.rank;
    if (typeof rank !== "number") return null;
    const clash = `another job on port ${this.port}? give each job its own MASTER_PORT`;
    if (
      this.worldSize !== undefined &&
      typeof hello.worldSize === "number" &&
      hello.worldSize !== this.worldSize
    )
      return `this store serves a job of WORLD_SIZE=${this.worldSize}, not ${hello.worldSize} (${clash})`;
    if (this.worldSize !== undefined && !(rank >= 0 && rank < this.worldSize))
      return `rank ${rank} is outside this store's job of WORLD_SIZE=${this.worldSize} (${clash})`;
    for (const c of this.clients.values())
      if (c.rank === rank && !c.bye) return `rank ${rank} is already connected to this store (${clash})`;
    return null;
  }

  private reply(fs: FramedSocket, msg: unknown): void {
    fs.sendJson(msg).catch(() => {});
  }

  private whenReady(keys: string[], fn: () => void): void {
    const check = () => {
      if (!keys.every((k) => this.data.has(k))) return false;
      fn();
      return true;
    };
    if (!check()) this.waiters.add(check);
  }

  private handle(fs: FramedSocket, state: ClientState, req: any): void {
    const id = req.id;
    if (state.rank !== null) this.lastBeat.set(state.rank, Date.now());
    switch (req.op) {
      case "hb":
        return;
      case "set":
        this.data.set(String(req.key), String(req.value));
        for (const w of [...this.waiters]) if (w()) this.waiters.delete(w);
        this.reply(fs, { id });
        return;
      case "get":
        this.whenReady([String(req.key)], () =>
          this.reply(fs, { id, value: this.data.get(String(req.key)) }),
        );
        return;
      case "wait":
        this.whenReady((req.keys as unknown[]).map(String), () => this.reply(fs, { id }));
        return;
      case "add": {
        const v = Number(this.data.get(String(req.key)) ?? 0) + Number(req.delta);
        this.data.set(String(req.key), String(v));
        for (const w of [...this.waiters]) if (w()) this.waiters.delete(w);
        this.reply(fs, { id, value: v });
        return;
      }
      case "timeout": {
        const rank = this.culprit(Number(req.waitingOn));
        this.abort({ rank, reason: `rank ${rank} stopped responding (${String(req.reason)})` });
        return;
      }
      case "abort":
        this.abort({ rank: Number(req.rank), reason: String(req.reason) });
        return;
      case "bye":
        state.bye = true;
        this.reply(fs, { id });
        return;
      default:
        this.reply(fs, { id, error: `unknown store op ${JSON.stringify(req.op)}` });
        return;
    }
  }

  /**
   * On a timeout every rank is stuck waiting on its ring neighbour, so the reporter's guess is often a
   * bystander. The rank whose heartbeats stopped is the silent one; fall back to the reporter's guess.
   */
  private culprit(waitingOn: number): number {
    const now = Date.now();
    let stalest = -1;
    let age = this.staleMs;
    for (const [rank, t] of this.lastBeat) {
      if (now - t > age) {
        age = now - t;
        stalest = rank;
      }
    }
    return stalest >= 0 ? stalest : waitingOn;
  }

  private abort(notice: AbortNotice): void {
    if (this.aborted) return;
    this.aborted = notice;
    for (const c of this.clients.keys()) c.sendJson({ abort: notice }).catch(() => {});
  }

  /** Live clients that have not said goodbye yet. */
  get openClients(): number {
    let n = 0;
    for (const s of this.clients.values()) if (!s.bye) n++;
    return n;
  }

  close(): Promise<void> {
    for (const c of this.clients.keys()) c.close();
    // Connections still handshaking (or turned away) are not clients yet, but would keep the server open.
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

function connectOnce(host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = tcpConnect({ host, port });
    s.once("connect", () => {
      s.removeAllListeners("error");
      resolve(s);
    });
    s.once("error", reject);
  });
}

/** Retries refused connections until `deadline`: the listener may simply not be up yet. */
export async function connectWithRetry(
  host: string,
  port: number,
  deadline: number,
  what: string,
): Promise<Socket> {
  let lastErr: NodeJS.ErrnoException | null = null;
  while (Date.now() < deadline) {
    try {
      return await connectOnce(host, port);
    } catch (e) {
      lastErr = e as NodeJS.ErrnoException;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new DistributedError(`cannot connect to ${what} at ${host}:${port}: ${lastErr?.code ?? "timed out"}`);
}

export class TcpStoreClient {
  onAbort: (n: AbortNotice) => void = () => {};
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  private beat: NodeJS.Timeout | null = null;
  private closing = false;

  private constructor(
    private readonly fs: FramedSocket,
    readonly rank: number,
  ) {
    fs.onFrame = (f) => {
      const msg = parseJsonFrame(f);
      if (msg.abort) return this.onAbort(msg.abort as AbortNotice);
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.error) p.reject(new DistributedError(`store: ${msg.error}`));
      else p.resolve(msg.value);
    };
    fs.onClose = () => {
      if (this.beat) clearInterval(this.beat);
      const err = new PeerFailureError("lost the connection to the rendezvous store on rank 0", 0);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
      if (!this.closing)
        this.onAbort({ rank: 0, reason: "rank 0 (the rendezvous store host) exited or is unreachable" });
    };
  }

  static async connect(opts: {
    host: string;
    port: number;
    secret: string;
    rank: number;
    /** Sent along so the store can refuse a rank of another job. */
    worldSize?: number;
    timeoutMs: number;
    heartbeatMs: number;
  }): Promise<TcpStoreClient> {
    const deadline = Date.now() + opts.timeoutMs;
    const sock = await connectWithRetry(
      opts.host,
      opts.port,
      deadline,
      "the rendezvous store (MASTER_ADDR:MASTER_PORT)",
    );
    const fs = new FramedSocket(sock);
    try {
      await offerHandshake(
        fs,
        opts.secret,
        { role: "store", rank: opts.rank, worldSize: opts.worldSize },
        opts.timeoutMs,
        "the rendezvous store",
      );
    } catch (e) {
      fs.close();
      throw e instanceof DistributedError ? e : new AuthenticationError((e as Error).message);
    }
    const client = new TcpStoreClient(fs, opts.rank);
    client.beat = setInterval(() => client.fs.sendJson({ op: "hb" }).catch(() => {}), opts.heartbeatMs);
    client.beat.unref();
    return client;
  }

  private request(msg: Record<string, unknown>, timeoutMs?: number): Promise<any> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | null = null;
      if (timeoutMs !== undefined)
        timer = setTimeout(() => {
          this.pending.delete(id);
          reject(
            new DistributedError(
              `store ${msg.op} ${JSON.stringify(msg.key ?? msg.keys)} timed out after ${timeoutMs} ms`,
            ),
          );
        }, timeoutMs);
      this.pending.set(id, {
        resolve: (v) => {
          if (timer) clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          if (timer) clearTimeout(timer);
          reject(e);
        },
      });
      this.fs.sendJson({ ...msg, id }).catch((e) => {
        this.pending.delete(id);
        reject(e);
      });
    });
  }

  async set(key: string, value: string): Promise<void> {
    await this.request({ op: "set", key, value });
  }
  /** Blocks until the key exists. */
  get(key: string, timeoutMs?: number): Promise<string> {
    return this.request({ op: "get", key }, timeoutMs);
  }
  async wait(keys: string[], timeoutMs?: number): Promise<void> {
    await this.request({ op: "wait", keys }, timeoutMs);
  }
  add(key: string, delta: number): Promise<number> {
    return this.request({ op: "add", key, delta });
  }
  /** Reports a collective timeout; the store answers every rank with one abort notice. */
  reportTimeout(waitingOn: number, reason: string): void {
    this.fs.sendJson({ op: "timeout", waitingOn, reason }).catch(() => {});
  }
  abort(rank: number, reason: string): void {
    this.fs.sendJson({ op: "abort", rank, reason }).catch(() => {});
  }
  /** Hangs up without the goodbye (the job failed: the store may be unreachable). */
  async closeNow(): Promise<void> {
    if (this.beat) clearInterval(this.beat);
    this.closing = true;
    if (!this.fs.isClosed) this.fs.close();
  }

  async close(): Promise<void> {
    if (this.beat) clearInterval(this.beat);
    if (this.fs.isClosed) return;
    try {
      await this.request({ op: "bye" }, 5000);
    } catch {
      // The store may already be gone at teardown; nothing left to tell it.
    }
    this.closing = true;
    this.fs.close();
  }
}
