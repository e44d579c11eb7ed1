import type { LlamaForCausalLM } from "./llama.js";
export interface GenerateOptions {
  maxNewTokens: number;
  temperature?: number;
  topP?: number;
  seed?: number;
  useCache?: boolean;
  eosTokenId?: number | null;
}
export async function generate(
  _model: LlamaForCausalLM,
  _promptIds: ArrayLike<number>,
  _opts: GenerateOptions,
): Promise<number[]> {
  throw new Error("not implemented yet");
}
