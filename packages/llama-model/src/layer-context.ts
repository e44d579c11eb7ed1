import * as tf from "@tensorflow/tfjs";
import { headDim, type LlamaConfig, numKeyValueHeads } from "./config.js";
import type { LayerContext } from "./decoder-layer.js";
import { ropeTables } from "./rope.js";

/** What every decoder layer of a call shares: head layout, eps, the rotary tables of its positions. */
export function layerContext(
  config: LlamaConfig,
  opts: { blockwiseAttention?: boolean; attentionBlockSize?: number },
  start: number,
  length: number,
): LayerContext {
  const d = headDim(config);
  const { cos, sin } = ropeTables(d, config.rope_theta ?? 10000, start, length);
  return {
    numHeads: config.num_attention_heads,
    numKeyValueHeads: numKeyValueHeads(config),
    headDim: d,
    eps: config.rms_norm_eps,
    cos: tf.tensor2d(cos, [length, d]),
    sin: tf.tensor2d(sin, [length, d]),
    blockSize: opts.blockwiseAttention ? (opts.attentionBlockSize ?? 64) : undefined,
  };
}
