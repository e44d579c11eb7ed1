import type { LlamaForCausalLM } from "./llama.js";
export class CheckpointError extends Error {
  override name = "CheckpointError";
}
export async function loadHFCheckpoint(_dir: string, _opts: object = {}): Promise<LlamaForCausalLM> {
  throw new Error("not implemented yet");
}
export async function saveHFCheckpoint(
  _model: LlamaForCausalLM,
  _dir: string,
  _opts: { dtype?: "F32" | "BF16"; maxShardBytes?: number; tokenizerModel?: string } = {},
): Promise<void> {
  throw new Error("not implemented yet");
}
