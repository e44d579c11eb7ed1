import * as fs from "node:fs";
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import { PileZstdError } from "./errors.js";
import type { RestartPoint } from "./line-source.js";
import { MAX_WINDOW_LOG, zstd as zstdBinding } from "./zstd-binding.js";
import { createZstdChunkDecoder, type DecodedChunk, type ZstdDecoderInit } from "./zstd-decoder.js";

const CHUNK = 1 << 20;
// Decoded chunks in flight between the decoder thread and the reader: enough to keep both threads
// busy, small enough to bound memory (5 MiB of shared slots, reused).
const SLOTS = 5;

/** Decoded bytes of one file, handed out in the order they occur. */
export interface ByteSource {
  /** Copies decoded bytes into `dst`; 0 at the end of the stream. */
  read(dst: Buffer): Promise<number>;
  /** Frame ends (absolute offsets) reported since the last call. */
  takeRestarts(): RestartPoint[];
  /** Compressed bytes consumed so far. */
  readonly consumed: number;
  close(): Promise<void>;
}

/** Shared by both sources: serve bytes out of the current chunk, pull the next when it runs dry. */
abstract class ChunkedSource implements ByteSource {
  private current?: Uint8Array;
  private pos = 0;
  protected ended = false;
  private pendingRestarts: RestartPoint[] = [];
  consumed: number;

  constructor(
    protected readonly file: string,
    start: RestartPoint,
  ) {
    this.consumed = start.compressed;
  }

  /** The next chunk's message and the bytes it refers to (valid until `release()`). */
  protected abstract nextChunk(): Promise<{ msg: DecodedChunk; bytes?: Uint8Array }>;
  /** The current chunk has been copied out; its buffer may be reused. */
  protected abstract release(): void;
  abstract close(): Promise<void>;

  async read(dst: Buffer): Promise<number> {
    while (!this.current || this.pos === this.current.length) {
      if (this.current) {
        this.current = undefined;
        this.release();
      }
      if (this.ended) return 0;
      const { msg, bytes } = await this.nextChunk();
      if (msg.type === "error") throw new PileZstdError(this.file, msg.offset, msg.reason);
      this.consumed = msg.consumed;
      this.pendingRestarts.push(...msg.restarts);
      if (msg.type === "end") {
        this.ended = true;
        return 0;
      }
      this.current = bytes;
      this.pos = 0;
    }
    const n = Math.min(dst.length, this.current.length - this.pos);
    dst.set(this.current.subarray(this.pos, this.pos + n));
    this.pos += n;
    return n;
  }

  takeRestarts(): RestartPoint[] {
    const r = this.pendingRestarts;
    this.pendingRestarts = [];
    return r;
  }
}

function decoderInit(file: string, start: RestartPoint): ZstdDecoderInit {
  return { file, start, windowLogMax: MAX_WINDOW_LOG };
}

/** Decodes on the reader's own thread: no start-up cost, the choice for small files. */
export class InlineZstdSource extends ChunkedSource {
  private readonly decoder: ReturnType<typeof createZstdChunkDecoder>;
  private readonly out = new Uint8Array(CHUNK);

  constructor(file: string, start: RestartPoint) {
    super(file, start);
    this.decoder = createZstdChunkDecoder({ zstd: zstdBinding, fs }, decoderInit(file, start));
  }

  protected async nextChunk(): Promise<{ msg: DecodedChunk; bytes?: Uint8Array }> {
    const msg = this.decoder.next(this.out);
    return { msg, bytes: msg.type === "data" ? this.out.subarray(0, msg.length) : undefined };
  }

  protected release(): void {}

  async close(): Promise<void> {
    this.ended = true;
    this.decoder.close();
  }
}

// The decoder thread's loop: wait for a free slot, decode into it, tell the reader. control[0]
// counts free slots, control[1] is the stop flag.
function zstdWorkerLoop(
  decoder: { next(out: Uint8Array): DecodedChunk; close(): void },
  slots: Uint8Array[],
  control: Int32Array,
  port: { postMessage(m: DecodedChunk): void },
): void {
  try {
    for (let seq = 0; ; seq++) {
      while (Atomics.load(control, 0) <= 0 && Atomics.load(control, 1) === 0)
        Atomics.wait(control, 0, 0, 1000);
      if (Atomics.load(control, 1) !== 0) return;
      Atomics.sub(control, 0, 1);
      const msg = decoder.next(slots[seq % slots.length]);
      port.postMessage(msg);
      if (msg.type !== "data") break;
    }
    // Stay alive until the reader closes, so an exit before that always means a crash.
    while (Atomics.load(control, 1) === 0) Atomics.wait(control, 1, 0, 1000);
  } finally {
    decoder.close();
  }
}

const WORKER_SOURCE = `"use strict";
const { workerData, parentPort } = require("node:worker_threads");
const createZstdChunkDecoder = ${createZstdChunkDecoder.toString()};
const zstdWorkerLoop = ${zstdWorkerLoop.toString()};
const decoder = createZstdChunkDecoder({ zstd: require(workerData.bindingPath), fs: require("node:fs") }, workerData.init);
const slots = Array.from({ length: workerData.slots }, (_, i) => new Uint8Array(workerData.shared, i * workerData.chunk, workerData.chunk));
zstdWorkerLoop(decoder, slots, new Int32Array(workerData.control), parentPort);
`;

let bindingPath: string | undefined;

/**
 * Decodes in a worker thread into shared, reused slots, so decompression and the reader's
 * splitting and parsing run on two cores, as `zstd -dc FILE | consumer` does. Starting the thread
 * costs some tens of milliseconds.
 */
export class ThreadedZstdSource extends ChunkedSource {
  private readonly worker: Worker;
  private readonly control = new Int32Array(new SharedArrayBuffer(8));
  private readonly shared = new SharedArrayBuffer(SLOTS * CHUNK);
  private readonly queue: DecodedChunk[] = [];
  private seq = 0;
  private wake?: () => void;
  private failure?: Error;

  constructor(file: string, start: RestartPoint) {
    super(file, start);
    bindingPath ??= createRequire(import.meta.url).resolve("zstd-napi/binding.js");
    this.control[0] = SLOTS;
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        bindingPath,
        init: decoderInit(file, start),
        control: this.control.buffer,
        shared: this.shared,
        slots: SLOTS,
        chunk: CHUNK,
      },
    });
    this.worker.unref();
    this.worker.on("message", (m: DecodedChunk) => {
      this.queue.push(m);
      this.wake?.();
    });
    this.worker.on("error", (err) => {
      this.failure = new PileZstdError(file, this.consumed, `decoder thread failed (${err.message})`);
      this.wake?.();
    });
    this.worker.on("exit", () => {
      this.failure ??= new PileZstdError(file, this.consumed, "decoder thread exited early");
      this.wake?.();
    });
  }

  protected async nextChunk(): Promise<{ msg: DecodedChunk; bytes?: Uint8Array }> {
    for (;;) {
      const msg = this.queue.shift();
      if (msg) {
        if (msg.type !== "data") return { msg };
        const slot = this.seq++ % SLOTS;
        return { msg, bytes: new Uint8Array(this.shared, slot * CHUNK, msg.length) };
      }
      if (this.failure) throw this.failure;
      // Keep the process alive only while actually waiting for the thread: a reader abandoned
      // mid-file (never closed) must not hold the process open.
      this.worker.ref();
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
      this.worker.unref();
      this.wake = undefined;
    }
  }

  protected release(): void {
    Atomics.add(this.control, 0, 1);
    Atomics.notify(this.control, 0);
  }

  async close(): Promise<void> {
    this.ended = true;
    Atomics.store(this.control, 1, 1);
    Atomics.notify(this.control, 0);
    Atomics.notify(this.control, 1);
    await this.worker.terminate();
  }
}

/** Files at least this large (compressed) are decoded in a thread by default. */
export const THREAD_MIN_BYTES = 8 << 20;
