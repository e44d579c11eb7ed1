/**
 * LLaMA configuration with Hugging Face `config.json` keys verbatim, so a config read from the Hub
 * round-trips through this object unchanged (unknown keys are kept).
 */
export interface LlamaConfig {
  architectures?: string[];
  model_type?: string;
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  /** Grouped-query attention; defaults to num_attention_heads (plain multi-head) as in HF. */
  num_key_value_heads?: number;
  hidden_act?: string;
  max_position_embeddings: number;
  initializer_range?: number;
  rms_norm_eps: number;
  rope_theta?: number;
  rope_scaling?: unknown;
  tie_word_embeddings?: boolean;
  attention_bias?: boolean;
  mlp_bias?: boolean;
  bos_token_id?: number | null;
  eos_token_id?: number | number[] | null;
  pad_token_id?: number | null;
  torch_dtype?: string;
  [key: string]: unknown;
}

export class LlamaConfigError extends Error {
  override name = "LlamaConfigError";
}

const REQUIRED_INTS = [
  "vocab_size",
  "hidden_size",
  "intermediate_size",
  "num_hidden_layers",
  "num_attention_heads",
  "max_position_embeddings",
] as const;

/**
 * Fill HF defaults and check the numbers agree with each other. `source` names the file in errors.
 */
export function resolveConfig(raw: Record<string, unknown>, source = "config"): LlamaConfig {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw))
    throw new LlamaConfigError(`${source}: config must be a JSON object`);
  for (const key of REQUIRED_INTS) {
    const v = raw[key];
    if (typeof v !== "number" || !Number.isInteger(v) || v <= 0)
      throw new LlamaConfigError(`${source}: "${key}" must be a positive integer, got ${JSON.stringify(v)}`);
  }
  if (raw.model_type !== undefined && raw.model_type !== "llama")
    throw new LlamaConfigError(
      `${source}: "model_type" is ${JSON.stringify(raw.model_type)}, expected "llama"`,
    );
  const cfg: LlamaConfig = {
    architectures: ["LlamaForCausalLM"],
    model_type: "llama",
    hidden_act: "silu",
    initializer_range: 0.02,
    rms_norm_eps: 1e-6,
    rope_theta: 10000,
    tie_word_embeddings: false,
    attention_bias: false,
    bos_token_id: 1,
    eos_token_id: 2,
    ...(raw as Partial<LlamaConfig>),
  } as LlamaConfig;
  cfg.num_key_value_heads = cfg.num_key_value_heads ?? cfg.num_attention_heads;
  if (cfg.hidden_size % cfg.num_attention_heads !== 0)
    throw new LlamaConfigError(
      `${source}: "hidden_size" ${cfg.hidden_size} is not divisible by "num_attention_heads" ${cfg.num_attention_heads}`,
    );
  if (!Number.isInteger(cfg.num_key_value_heads) || cfg.num_attention_heads % cfg.num_key_value_heads !== 0)
    throw new LlamaConfigError(
      `${source}: "num_attention_heads" ${cfg.num_attention_heads} is not a multiple of "num_key_value_heads" ${cfg.num_key_value_heads}`,
    );
  if ((headDim(cfg) & 1) !== 0)
    throw new LlamaConfigError(`${source}: head dim ${headDim(cfg)} must be even for rotary embeddings`);
  if (cfg.head_dim !== undefined && cfg.head_dim !== null && cfg.head_dim !== headDim(cfg))
    throw new LlamaConfigError(
      `${source}: "head_dim" ${cfg.head_dim} differs from hidden_size / num_attention_heads = ${headDim(cfg)} (unsupported)`,
    );
  if (cfg.hidden_act !== "silu")
    throw new LlamaConfigError(
      `${source}: "hidden_act" ${JSON.stringify(cfg.hidden_act)} unsupported (only "silu")`,
    );
  if (cfg.attention_bias || cfg.mlp_bias)
    throw new LlamaConfigError(`${source}: "attention_bias"/"mlp_bias" are not supported`);
  if (cfg.rope_scaling !== undefined && cfg.rope_scaling !== null)
    throw new LlamaConfigError(`${source}: "rope_scaling" is not supported`);
  if (typeof cfg.rms_norm_eps !== "number" || !(cfg.rms_norm_eps > 0))
    throw new LlamaConfigError(`${source}: "rms_norm_eps" must be a positive number`);
  if (typeof cfg.rope_theta !== "number" || !(cfg.rope_theta > 0))
    throw new LlamaConfigError(`${source}: "rope_theta" must be a positive number`);
  return cfg;
}

export function headDim(cfg: LlamaConfig): number {
  return cfg.hidden_size / cfg.num_attention_heads;
}

export function numKeyValueHeads(cfg: LlamaConfig): number {
  return cfg.num_key_value_heads ?? cfg.num_attention_heads;
}

// Values are the ones in the Hub's config.json files (huggyllama/llama-7b, meta-llama/Llama-2-7b-hf),
// so a preset-initialised checkpoint has the same shapes and hyper-parameters as the real one.
const LLAMA1_7B: LlamaConfig = resolveConfig({
  vocab_size: 32000,
  hidden_size: 4096,
  intermediate_size: 11008,
  num_hidden_layers: 32,
  num_attention_heads: 32,
  num_key_value_heads: 32,
  max_position_embeddings: 2048,
  rms_norm_eps: 1e-6,
  pad_token_id: 0,
  torch_dtype: "float16",
});

export const LLAMA_PRESETS: Record<string, LlamaConfig> = {
  "llama-7b": LLAMA1_7B,
  "llama-13b": resolveConfig({
    ...LLAMA1_7B,
    hidden_size: 5120,
    intermediate_size: 13824,
    num_hidden_layers: 40,
    num_attention_heads: 40,
    num_key_value_heads: 40,
  }),
  "llama2-7b": resolveConfig({
    ...LLAMA1_7B,
    max_position_embeddings: 4096,
    rms_norm_eps: 1e-5,
    pad_token_id: null,
  }),
  // Tiny models keep LLaMA's 32000-token vocabulary so the real tokenizer drives them on a CPU.
  "tiny-llama": resolveConfig({
    vocab_size: 32000,
    hidden_size: 64,
    intermediate_size: 172,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 4,
    max_position_embeddings: 512,
    rms_norm_eps: 1e-6,
    torch_dtype: "float32",
  }),
  "tiny-llama-gqa": resolveConfig({
    vocab_size: 32000,
    hidden_size: 128,
    intermediate_size: 344,
    num_hidden_layers: 2,
    num_attention_heads: 8,
    num_key_value_heads: 2,
    max_position_embeddings: 512,
    rms_norm_eps: 1e-5,
    torch_dtype: "float32",
  }),
  // The benchmark shape: small enough to train on two CPU cores.
  "tiny-llama-256": resolveConfig({
    vocab_size: 32000,
    hidden_size: 256,
    intermediate_size: 688,
    num_hidden_layers: 4,
    num_attention_heads: 4,
    max_position_embeddings: 1024,
    rms_norm_eps: 1e-6,
    torch_dtype: "float32",
  }),
};

export class UnknownPresetError extends Error {
  override name = "UnknownPresetError";
}

export function presetConfig(name: string): LlamaConfig {
  const cfg = LLAMA_PRESETS[name];
  if (!cfg)
    throw new UnknownPresetError(
      `unknown preset "${name}" (known: ${Object.keys(LLAMA_PRESETS).join(", ")})`,
    );
  return structuredClone(cfg);
}

/** Shapes of every parameter under its Hugging Face name, in HF orientation ([out, in] for Linear). */
export function parameterShapes(cfg: LlamaConfig): Map<string, number[]> {
  const H = cfg.hidden_size;
  const kv = numKeyValueHeads(cfg) * headDim(cfg);
  const I = cfg.intermediate_size;
  const shapes = new Map<string, number[]>();
  shapes.set("model.embed_tokens.weight", [cfg.vocab_size, H]);
  for (let i = 0; i < cfg.num_hidden_layers; i++) {
    const p = `model.layers.${i}`;
    shapes.set(`${p}.self_attn.q_proj.weight`, [H, H]);
    shapes.set(`${p}.self_attn.k_proj.weight`, [kv, H]);
    shapes.set(`${p}.self_attn.v_proj.weight`, [kv, H]);
    shapes.set(`${p}.self_attn.o_proj.weight`, [H, H]);
    shapes.set(`${p}.mlp.gate_proj.weight`, [I, H]);
    shapes.set(`${p}.mlp.up_proj.weight`, [I, H]);
    shapes.set(`${p}.mlp.down_proj.weight`, [H, I]);
    shapes.set(`${p}.input_layernorm.weight`, [H]);
    shapes.set(`${p}.post_attention_layernorm.weight`, [H]);
  }
  shapes.set("model.norm.weight", [H]);
  if (!cfg.tie_word_embeddings) shapes.set("lm_head.weight", [cfg.vocab_size, H]);
  return shapes;
}

export function parameterCount(cfg: LlamaConfig): number {
  let n = 0;
  for (const s of parameterShapes(cfg).values()) n += s.reduce((a, b) => a * b, 1);
  return n;
}

/**
 * Training FLOPs per token, PaLM appendix B: 6·N + 12·L·H·Q·T. N counts the parameters that take part
 * in matrix products — the input embedding is a lookup, so it is left out unless tied to lm_head.
 */
export function trainingFlopsPerToken(cfg: LlamaConfig, seqLen: number): number {
  const embed = cfg.tie_word_embeddings ? 0 : cfg.vocab_size * cfg.hidden_size;
  const n = parameterCount(cfg) - embed;
  return 6 * n + 12 * cfg.num_hidden_layers * cfg.num_attention_heads * headDim(cfg) * seqLen;
}
