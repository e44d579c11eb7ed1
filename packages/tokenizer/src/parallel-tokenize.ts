import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { TokenizerModelError } from "./errors.js";
import { defaultTokenizerModelPath, LlamaTokenizer } from "./llama-tokenizer.js";
import type { BatchReply, BatchRequest, WorkerInit } from "./tokenize-worker.js";

export interface TokenizeDocumentsOptions {
  /** Worker threads; 0 encodes on the calling thread (default: 1). */
  workers?: number;
  /** SentencePiece model (default: the bundled LLaMA model). */
  modelPath?: string;
  /** Prepend BOS to every document (default false). */
  bos?: boolean;
  /** Append EOS to every document (default false). */
  appendEos?: boolean;
  /** Documents per message to a worker; batches also close at `batchChars` characters. */
  batchDocs?: number;
  batchChars?: number;
}

/** The built worker beside this module (dist/), or dist/ when running from src/ under a TS loader. */
function workerUrl(): URL {
  const here = import.meta.url;
  const ext = here.endsWith(".cjs") ? ".cjs" : ".js";
  for (const rel of [`./tokenize-worker${ext}`, `../dist/tokenize-worker${ext}`]) {
    const url = new URL(rel, here);
    if (existsSync(fileURLToPath(url))) return url;
  }
  throw new Error(
    `tokenize-worker${ext} not found beside ${fileURLToPath(here)}; build @biomed-llama/tokenizer first (pnpm build)`,
  );
}

async function* batches(
  texts: AsyncIterable<string> | Iterable<string>,
  maxDocs: number,
  maxChars: number,
): AsyncGenerator<string[]> {
  let batch: string[] = [];
  let chars = 0;
  for await (const t of texts) {
    batch.push(t);
    chars += t.length;
    if (batch.length >= maxDocs || chars >= maxChars) {
      yield batch;
      batch = [];
      chars = 0;
    }
  }
  if (batch.length) yield batch;
}

interface Done {
  lengths: Int32Array;
  ids: Int32Array;
}

class WorkerPool {
  private readonly idle: Worker[] = [];
  private readonly all: Worker[] = [];
  private readonly queue: { req: BatchRequest; resolve: (d: Done) => void; reject: (e: Error) => void }[] =
    [];
  private readonly busy = new Map<Worker, { resolve: (d: Done) => void; reject: (e: Error) => void }>();
  private failure: Error | null = null;

  constructor(n: number, init: WorkerInit) {
    const url = workerUrl();
    for (let i = 0; i < n; i++) {
      // Workers inherit execArgv; --input-type (from `node -e`) is refused for a file entry.
      const execArgv = process.execArgv.filter((a) => !a.startsWith("--input-type"));
      const w = new Worker(url, { workerData: init, execArgv });
      w.on("message", (reply: BatchReply) => this.onReply(w, reply));
      w.on("error", (e) => this.fail(e));
      w.on("exit", (code) => {
        if (code !== 0) this.fail(new Error(`tokenizer worker exited with code ${code}`));
      });
      // Idle workers must not keep the process alive (a consumer may abandon the iterator without
      // return()); a worker holds a ref only while it has a batch.
      w.unref();
      this.all.push(w);
      this.idle.push(w);
    }
  }

  run(texts: string[], id: number): Promise<Done> {
    return new Promise((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      this.queue.push({ req: { id, texts }, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.idle.length && this.queue.length) {
      const w = this.idle.pop()!;
      const job = this.queue.shift()!;
      this.busy.set(w, job);
      w.ref();
      w.postMessage(job.req);
    }
  }

  private onReply(w: Worker, reply: BatchReply): void {
    const job = this.busy.get(w);
    this.busy.delete(w);
    w.unref();
    this.idle.push(w);
    if (!job) return;
    if ("error" in reply) {
      const e = reply.error;
      job.reject(
        e.name === "TokenizerModelError" && e.file !== undefined
          ? new TokenizerModelError(e.file, e.reason ?? e.message)
          : Object.assign(new Error(e.message), { name: e.name }),
      );
    } else job.resolve({ lengths: reply.lengths, ids: reply.ids });
    this.pump();
  }

  private fail(e: Error): void {
    if (this.failure) return;
    this.failure = e;
    for (const job of [...this.busy.values(), ...this.queue]) job.reject(e);
    this.busy.clear();
    this.queue.length = 0;
  }

  async close(): Promise<void> {
    this.failure ??= new Error("worker pool closed");
    await Promise.all(this.all.map((w) => w.terminate()));
  }
}

/**
 * Tokenizes a stream of documents on worker threads and yields their ids in input order.
 * Each worker loads its own WASM SentencePiece; batches go to whichever worker is free, at most
 * two per worker are in flight, and results are re-ordered before they are yielded.
 */
export async function* tokenizeDocuments(
  texts: AsyncIterable<string> | Iterable<string>,
  opts: TokenizeDocumentsOptions = {},
): AsyncGenerator<Int32Array> {
  const modelPath = opts.modelPath ?? defaultTokenizerModelPath();
  const bos = opts.bos ?? false;
  const eos = opts.appendEos ?? false;
  const workers = opts.workers ?? 1;
  const maxDocs = opts.batchDocs ?? 64;
  const maxChars = opts.batchChars ?? 1 << 20;
  if (!Number.isInteger(workers) || workers < 0) throw new RangeError(`workers must be >= 0, got ${workers}`);

  // Validates the model and settles the engine once, here, so workers need not repeat it.
  const tok = await LlamaTokenizer.load(modelPath);
  if (workers === 0) {
    for await (const t of texts) yield Int32Array.from(tok.encode(t, { bos, eos }));
    return;
  }

  const pool = new WorkerPool(workers, {
    modelPath,
    bos,
    eos,
    engine: tok.engine,
    bosId: tok.bosId,
    eosId: tok.eosId,
  });
  const inflight: Promise<Done>[] = [];
  const split = function* (d: Done): Generator<Int32Array> {
    let o = 0;
    for (const n of d.lengths) {
      yield d.ids.subarray(o, o + n);
      o += n;
    }
  };
  try {
    let id = 0;
    for await (const batch of batches(texts, maxDocs, maxChars)) {
      const p = pool.run(batch, id++);
      // Awaited in order below; this only stops an early rejection from being reported as unhandled.
      p.catch(() => {});
      inflight.push(p);
      while (inflight.length >= 2 * workers) yield* split(await inflight.shift()!);
    }
    while (inflight.length) yield* split(await inflight.shift()!);
  } finally {
    await pool.close();
  }
}
