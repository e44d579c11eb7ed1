/**
 * Worker-thread side of tokenizeDocuments: one WASM SentencePiece per thread. Receives batches of
 * texts, answers with all their ids in one transferable Int32Array plus per-document lengths.
 */
import { parentPort, workerData } from "node:worker_threads";
import { TokenizerModelError } from "./errors.js";
import { LlamaTokenizer, loadJsEncoder } from "./llama-tokenizer.js";

export interface WorkerInit {
  modelPath: string;
  bos: boolean;
  eos: boolean;
  /** The engine the calling thread's LlamaTokenizer settled on for this file (it did the checks). */
  engine: "js" | "wasm";
  bosId: number;
  eosId: number;
}
export interface BatchRequest {
  id: number;
  texts: string[];
}
export type BatchReply =
  | { id: number; lengths: Int32Array; ids: Int32Array }
  | { id: number; error: { name: string; message: string; file?: string; reason?: string } };

const init = workerData as WorkerInit;
// The JS engine needs no WASM here, which keeps worker start-up to parsing the model.
const ready: Promise<(text: string) => number[]> =
  init.engine === "js"
    ? Promise.resolve().then(() => loadJsEncoder(init.modelPath))
    : LlamaTokenizer.load(init.modelPath, { engine: "wasm" }).then((t) => (text: string) => t.encode(text));
// Reported per batch below; keep Node from flagging the rejection before the first batch arrives.
ready.catch(() => {});

parentPort!.on("message", async ({ id, texts }: BatchRequest) => {
  try {
    const encode = await ready;
    const lengths = new Int32Array(texts.length);
    const parts: number[][] = new Array(texts.length);
    let total = 0;
    for (let i = 0; i < texts.length; i++) {
      const ids = encode(texts[i]);
      if (init.bos) ids.unshift(init.bosId);
      if (init.eos) ids.push(init.eosId);
      parts[i] = ids;
      lengths[i] = parts[i].length;
      total += parts[i].length;
    }
    const ids = new Int32Array(total);
    let o = 0;
    for (const p of parts) {
      ids.set(p, o);
      o += p.length;
    }
    const reply: BatchReply = { id, lengths, ids };
    parentPort!.postMessage(reply, [lengths.buffer, ids.buffer]);
  } catch (e) {
    const err = e as Error;
    const extra = err instanceof TokenizerModelError ? { file: err.file, reason: err.reason } : {};
    const reply: BatchReply = { id, error: { name: err.name, message: err.message, ...extra } };
    parentPort!.postMessage(reply);
  }
});
