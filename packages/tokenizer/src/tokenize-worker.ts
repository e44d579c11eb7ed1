/**
 * Worker-thread side of tokenizeDocuments: one WASM SentencePiece per thread. Receives batches of
 * texts, answers with all their ids in one transferable Int32Array plus per-document lengths.
 */
import { parentPort, workerData } from "node:worker_threads";
import { TokenizerModelError } from "./errors.js";
import { LlamaTokenizer } from "./llama-tokenizer.js";

export interface WorkerInit {
  modelPath: string;
  bos: boolean;
  eos: boolean;
}
export interface BatchRequest {
  id: number;
  texts: string[];
}
export type BatchReply =
  | { id: number; lengths: Int32Array; ids: Int32Array }
  | { id: number; error: { name: string; message: string; file?: string; reason?: string } };

const init = workerData as WorkerInit;
const ready = LlamaTokenizer.load(init.modelPath);
// Reported per batch below; keep Node from flagging the rejection before the first batch arrives.
ready.catch(() => {});

parentPort!.on("message", async ({ id, texts }: BatchRequest) => {
  try {
    const tok = await ready;
    const lengths = new Int32Array(texts.length);
    const parts: number[][] = new Array(texts.length);
    let total = 0;
    for (let i = 0; i < texts.length; i++) {
      parts[i] = tok.encode(texts[i], { bos: init.bos, eos: init.eos });
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
