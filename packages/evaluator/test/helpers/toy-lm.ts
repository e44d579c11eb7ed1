import type { LM, QueryScore, ScoreRow } from "../../src/lm.js";

/**
 * A toy tokenizer that behaves like SentencePiece where it matters for `_encode_pair`: leading
 * whitespace sticks to the following word (" A" is one token), and trailing whitespace is a token
 * of its own. Ids are assigned on first sight, so any text can be encoded.
 */
export class ToyTokenizer {
  readonly vocab = new Map<string, number>([
    ["<unk>", 0],
    ["<s>", 1],
    ["</s>", 2],
  ]);
  readonly pieces: string[] = ["<unk>", "<s>", "</s>"];

  encode(text: string): number[] {
    const pieces = text.match(/\s*\S+|\s+$/g) ?? [];
    return pieces.map((p) => {
      let id = this.vocab.get(p);
      if (id === undefined) {
        id = this.pieces.length;
        this.vocab.set(p, id);
        this.pieces.push(p);
      }
      return id;
    });
  }
}

/**
 * A bigram language model over a fixed vocabulary size V: p(next = j | prev = i) is a softmax of
 * the hand-set logits `logit(i, j)`. Scores depend only on the previous token, so the expected
 * log-likelihood of any request is a plain sum the test can write down.
 */
export class BigramLM implements LM {
  readonly id: string;
  readonly bosId = 1;
  readonly eosId = 2;
  /** Every row passed to scoreBatch, in order (to check batching, grouping, truncation). */
  readonly rowsSeen: ScoreRow[][] = [];
  readonly logp: number[][];
  readonly tokenizer = new ToyTokenizer();

  constructor(
    readonly vocabSize: number,
    readonly maxLength: number,
    logit: (i: number, j: number) => number = (i, j) => ((i * 7 + j * 3) % 5) * 0.5,
  ) {
    this.id = `bigram-${vocabSize}-${maxLength}`;
    this.logp = [];
    for (let i = 0; i < vocabSize; i++) {
      const row = Array.from({ length: vocabSize }, (_, j) => logit(i, j));
      const m = Math.max(...row);
      const lse = m + Math.log(row.reduce((s, x) => s + Math.exp(x - m), 0));
      this.logp.push(row.map((x) => x - lse));
    }
  }

  /** With `hashed`, pieces map to ids by a hash modulo V, so any corpus fits a small table. */
  hashed = false;

  encode(text: string): number[] {
    if (this.hashed) {
      return (text.match(/\s*\S+|\s+$/g) ?? []).map((p) => {
        let h = 2166136261;
        for (let i = 0; i < p.length; i++) h = Math.imul(h ^ p.charCodeAt(i), 16777619) >>> 0;
        return 3 + (h % (this.vocabSize - 3));
      });
    }
    const ids = this.tokenizer.encode(text);
    for (const id of ids)
      if (id >= this.vocabSize) throw new Error(`toy vocabulary of ${this.vocabSize} exhausted`);
    return ids;
  }

  /** Naive reference: log p(tokens | prev) summed. */
  ll(prev: number, tokens: number[]): number {
    let s = 0;
    let p = prev;
    for (const t of tokens) {
      s += this.logp[p][t];
      p = t;
    }
    return s;
  }

  async scoreBatch(rows: ScoreRow[]): Promise<QueryScore[][]> {
    this.rowsSeen.push(rows);
    return rows.map((row) => {
      if (row.input.length > this.maxLength) throw new Error("input longer than maxLength");
      return row.queries.map((q) => {
        const logprobs: number[] = [];
        let greedy = true;
        q.tokens.forEach((t, k) => {
          const prev = row.input[q.start + k];
          const dist = this.logp[prev];
          logprobs.push(dist[t]);
          if (dist.indexOf(Math.max(...dist)) !== t) greedy = false;
        });
        return { logprobs, greedy };
      });
    });
  }
}
