/**
 * The only things the engine needs from a language model. Kept this small so the engine can be
 * tested against a hand-computable model (a bigram table) and driven by LLaMA in production.
 */
export interface ScoreQuery {
  /** Position in `input` whose next-token distribution predicts `tokens[0]`. */
  start: number;
  /** Tokens predicted at positions start, start+1, ... */
  tokens: number[];
}

export interface ScoreRow {
  /** Token ids fed to the model (at most `maxLength`). */
  input: number[];
  /** Several queries may share one row: one forward pass answers all of them. */
  queries: ScoreQuery[];
}

export interface QueryScore {
  /** log p(tokens[i] | input[0..start+i]) for each token. */
  logprobs: number[];
  /** Every token is the argmax of its distribution (lm-eval's `is_greedy`). */
  greedy: boolean;
}

export interface LM {
  /** Identifies weights + tokenizer; part of every cache key. */
  readonly id: string;
  /** Longest input the model accepts (lm-eval's `max_length`). */
  readonly maxLength: number;
  readonly bosId: number;
  readonly eosId: number;
  /** Plain tokenization: no BOS/EOS added. */
  encode(text: string): number[];
  /** One forward pass per row (rows may be batched together by the implementation). */
  scoreBatch(rows: ScoreRow[]): Promise<QueryScore[][]>;
}
