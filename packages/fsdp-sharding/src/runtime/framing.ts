import type { Socket } from "node:net";

/**
 * Wire format: a 16-byte header then the payload.
 *   u32 payload bytes | u8 kind | u8 op | u16 0 | u32 seq | u32 step      (little endian)
 * `op` + `seq` name the collective (its kind and its position in the group's sequence) and `step` the
 * ring step, so two ranks that disagree on what they are doing fail loudly instead of mixing buffers.
 */
export const HEADER_BYTES = 16;
/** Refuse absurd lengths before allocating: a corrupt or hostile header must not exhaust memory. */
export const MAX_PAYLOAD_BYTES = 1 << 30;
/** Until the peer has proved the secret, only handshake-sized frames are accepted. */
export const HANDSHAKE_PAYLOAD_BYTES = 64 * 1024;

export enum FrameKind {
  Data = 1,
  Json = 2,
}

export interface Frame {
  kind: FrameKind;
  op: number;
  seq: number;
  step: number;
  payload: Buffer;
}

/**
 * Length-prefixed frames over a socket. Incoming frames go to `onFrame`; the socket closing or failing
 * goes to `onClose` once. Writes resolve when the bytes are handed to the kernel, so callers may reuse
 * their buffer afterwards (we never copy payloads).
 */
export class FramedSocket {
  /**
   * Frames that arrive while nobody listens (`onFrame` null: between a handshake and the ring or store
   * taking the socket over) are held, in order, and handed to the next handler set. A peer that finishes
   * its own set-up first may already be sending; dropping those frames would desynchronise the ring.
   */
  private handler: ((f: Frame) => void) | null = null;
  private held: Frame[] = [];
  onClose: (err: Error | null) => void = () => {};
  /** Raised by the owner once the handshake succeeded. */
  maxPayloadBytes = HANDSHAKE_PAYLOAD_BYTES;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private closed = false;
  private closeError: Error | null = null;

  constructor(readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on("data", (d: Buffer) => this.onData(d));
    socket.on("error", (e) => this.finish(e));
    socket.on("close", () => this.finish(null));
    socket.on("end", () => this.finish(null));
  }

  get onFrame(): ((f: Frame) => void) | null {
    return this.handler;
  }

  set onFrame(h: ((f: Frame) => void) | null) {
    this.handler = h;
    while (h && this.handler === h && this.held.length > 0) h(this.held.shift()!);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private finish(err: Error | null): void {
    if (this.closed) return;
    this.closed = true;
    this.closeError = err;
    this.socket.destroy();
    this.onClose(err);
  }

  private onData(d: Buffer): void {
    this.chunks.push(d);
    this.buffered += d.length;
    while (this.buffered >= HEADER_BYTES) {
      const head = this.peek(HEADER_BYTES);
      const len = head.readUInt32LE(0);
      if (len > this.maxPayloadBytes) {
        this.finish(new Error(`frame of ${len} bytes exceeds the ${this.maxPayloadBytes}-byte limit`));
        return;
      }
      if (this.buffered < HEADER_BYTES + len) return;
      const all = this.take(HEADER_BYTES + len);
      const frame: Frame = {
        kind: all.readUInt8(4),
        op: all.readUInt8(5),
        seq: all.readUInt32LE(8),
        step: all.readUInt32LE(12),
        payload: all.subarray(HEADER_BYTES),
      };
      if (this.closed) return;
      if (this.handler) this.handler(frame);
      else this.held.push(frame);
    }
  }

  private peek(n: number): Buffer {
    if (this.chunks[0].length >= n) return this.chunks[0];
    const merged = Buffer.concat(this.chunks);
    this.chunks = [merged];
    return merged;
  }

  private take(n: number): Buffer {
    let out: Buffer;
    if (this.chunks[0].length >= n) {
      out = this.chunks[0].subarray(0, n);
      if (this.chunks[0].length === n) this.chunks.shift();
      else this.chunks[0] = this.chunks[0].subarray(n);
    } else {
      // Copy into a fresh (hence 8-byte aligned) buffer so float views over the payload are legal.
      out = Buffer.allocUnsafe(n);
      let off = 0;
      while (off < n) {
        const c = this.chunks[0];
        const k = Math.min(c.length, n - off);
        c.copy(out, off, 0, k);
        off += k;
        if (k === c.length) this.chunks.shift();
        else this.chunks[0] = c.subarray(k);
      }
    }
    this.buffered -= n;
    return out;
  }

  send(kind: FrameKind, op: number, seq: number, step: number, payload?: Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(this.closeError ?? new Error("socket closed"));
    const head = Buffer.alloc(HEADER_BYTES);
    const len = payload ? payload.byteLength : 0;
    head.writeUInt32LE(len, 0);
    head.writeUInt8(kind, 4);
    head.writeUInt8(op, 5);
    head.writeUInt32LE(seq >>> 0, 8);
    head.writeUInt32LE(step >>> 0, 12);
    return new Promise((resolve, reject) => {
      const done = (err?: Error | null) => (err ? reject(err) : resolve());
      if (len === 0) this.socket.write(head, done);
      else {
        this.socket.write(head);
        this.socket.write(payload!, done);
      }
    });
  }

  sendJson(value: unknown): Promise<void> {
    return this.send(FrameKind.Json, 0, 0, 0, Buffer.from(JSON.stringify(value), "utf8"));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.end();
    this.socket.destroy();
  }
}

export function parseJsonFrame(f: Frame): any {
  if (f.kind !== FrameKind.Json) throw new Error(`expected a control frame, got kind ${f.kind}`);
  return JSON.parse(f.payload.toString("utf8"));
}

/** Views a frame payload as floats without copying when it is aligned (copies otherwise). */
export function floatsOf(payload: Buffer): Float32Array {
  if (payload.byteOffset % 4 === 0)
    return new Float32Array(payload.buffer, payload.byteOffset, payload.byteLength / 4);
  return new Float32Array(new Uint8Array(payload).buffer);
}

export function bytesOf(f: Float32Array): Uint8Array {
  return new Uint8Array(f.buffer, f.byteOffset, f.byteLength);
}
