import { describe, expect, test } from "vitest";
import {
  LLAMA_PRESETS,
  LlamaConfigError,
  parameterCount,
  presetConfig,
  resolveConfig,
  trainingFlopsPerToken,
  UnknownPresetError,
} from "../src/index";
import { TINY } from "./helpers";

describe("config", () => {
  test("parameter counts match the published models", () => {
    // Meta's LLaMA paper / HF model cards: 6,738,415,616 and 13,015,864,320 parameters.
    expect(parameterCount(LLAMA_PRESETS["llama-7b"])).toBe(6_738_415_616);
    expect(parameterCount(LLAMA_PRESETS["llama2-7b"])).toBe(6_738_415_616);
    expect(parameterCount(LLAMA_PRESETS["llama-13b"])).toBe(13_015_864_320);
  });

  test("parameter count by hand for a tiny GQA config", () => {
    // embed 64·32 + lm_head 64·32 + 2 layers × (q 32·32 + k,v 2·16·32 + o 32·32 + 3·48·32 + 2·32) + norm 32
    expect(parameterCount(TINY)).toBe(2048 + 2048 + 2 * (1024 + 1024 + 1024 + 4608 + 64) + 32);
    expect(parameterCount({ ...TINY, tie_word_embeddings: true })).toBe(parameterCount(TINY) - 2048);
  });

  test("training FLOPs per token: 6N + 12·L·H·Q·T, N without the embedding lookup", () => {
    const cfg = LLAMA_PRESETS["llama-7b"];
    const n = 6_738_415_616 - 32000 * 4096;
    expect(trainingFlopsPerToken(cfg, 2048)).toBe(6 * n + 12 * 32 * 32 * 128 * 2048);
  });

  test("presets keep HF keys verbatim and the 32000-token vocabulary", () => {
    for (const [name, cfg] of Object.entries(LLAMA_PRESETS)) {
      expect(cfg.vocab_size, name).toBe(32000);
      expect(cfg.model_type).toBe("llama");
      expect(cfg.architectures).toEqual(["LlamaForCausalLM"]);
    }
    expect(LLAMA_PRESETS["llama2-7b"].rms_norm_eps).toBe(1e-5);
    expect(LLAMA_PRESETS["llama2-7b"].max_position_embeddings).toBe(4096);
    expect(() => presetConfig("llama-70b")).toThrow(UnknownPresetError);
  });

  test("invalid configs name the field", () => {
    expect(() => resolveConfig({ ...TINY, hidden_size: 30 }, "c.json")).toThrow(
      /c\.json: "hidden_size" 30 is not divisible/,
    );
    expect(() => resolveConfig({ ...TINY, num_key_value_heads: 3 })).toThrow(/"num_key_value_heads" 3/);
    expect(() => resolveConfig({ ...TINY, vocab_size: "64" })).toThrow(LlamaConfigError);
    expect(() => resolveConfig({ ...TINY, model_type: "mistral" })).toThrow(/"model_type"/);
    expect(resolveConfig({ ...TINY, custom_key: 1 }).custom_key).toBe(1);
    expect(() => resolveConfig({ ...TINY, head_dim: 16 })).toThrow(/"head_dim" 16 differs/);
    expect(resolveConfig({ ...TINY, head_dim: 8 }).head_dim).toBe(8);
  });
});
