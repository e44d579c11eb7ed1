import { encodePair } from "./encode-pair.js";
import { RequestError } from "./errors.js";
import type { LM, ScoreRow } from "./lm.js";
import { RequestCache } from "./request-cache.js";
import { getRollingTokenWindows, makeDisjointWindow } from "./rolling-windows.js";

export interface LoglikelihoodRequest {
  context: string;
  continuation: string;
}

/** lm-eval's response pair: (sum of continuation log-probs, is_greedy). */
export type LoglikelihoodResponse = [logprob: number, isGreedy: boolean];

export interface TokenRequest {
  contextEnc: number[];
  continuationEnc: number[];
}

export interface ScoringProgress {
  done: number;
  total: number;
  /** Requests answered from the cache rather than the model. */
  cached: number;
}

export interface ScoringOptions {
  /** Rows per forward pass (after grouping). Default 1, as lm-eval. */
  batchSize?: number;
  cache?: RequestCache;
  onProgress?: (p: ScoringProgress) => void;
}

export interface LoglikelihoodOptions extends ScoringOptions {
  /**
   * Prepend BOS to every encoding (context and context+continuation alike), as lm-eval's HF model
   * does when `add_bos_token=True`. Default false: how BioMed-LLaMA scored and how lm-eval's HF
   * model did by default until it began to follow the tokenizer config.
   */
  addBos?: boolean;
}

/** Tokenize requests the way lm-eval's `loglikelihood` does, before `_loglikelihood_tokens`. */
export function encodeRequests(
  lm: Pick<LM, "encode" | "bosId" | "eosId">,
  requests: readonly LoglikelihoodRequest[],
  opts: { addBos?: boolean } = {},
): TokenRequest[] {
  const encode = opts.addBos ? (t: string) => [lm.bosId, ...lm.encode(t)] : (t: string) => lm.encode(t);
  return requests.map(({ context, continuation }) => {
    if (context === "") {
      // lm-eval: an empty context is replaced by the single prefix token (BOS; EOS before 0.4.2).
      return { contextEnc: [lm.bosId], continuationEnc: lm.encode(continuation) };
    }
    return encodePair(encode, context, continuation);
  });
}

/** `loglikelihood(requests)`: one (logprob, is_greedy) per (context, continuation). */
export async function loglikelihood(
  lm: LM,
  requests: readonly LoglikelihoodRequest[],
  opts: LoglikelihoodOptions = {},
): Promise<LoglikelihoodResponse[]> {
  return loglikelihoodTokens(lm, encodeRequests(lm, requests, opts), opts);
}

/**
 * `loglikelihood_rolling(texts)`: the total log-likelihood of each text, scored in disjoint windows
 * of `lm.maxLength` tokens (stride = maxLength), the first after a single `prefixToken`.
 * `prefixToken` defaults to BOS (lm-eval ≥ 0.4.2); BioMed-LLaMA's Pile numbers used EOS (lm-eval's
 * older `eot_token_id`).
 */
export async function loglikelihoodRolling(
  lm: LM,
  texts: readonly string[],
  opts: ScoringOptions & { prefixToken?: number } = {},
): Promise<number[]> {
  const prefix = opts.prefixToken ?? lm.bosId;
  const reqs: TokenRequest[] = [];
  const owner: number[] = [];
  texts.forEach((text, i) => {
    for (const w of getRollingTokenWindows(lm.encode(text), prefix, lm.maxLength, 1)) {
      const [contextEnc, continuationEnc] = makeDisjointWindow(w);
      reqs.push({ contextEnc, continuationEnc });
      owner.push(i);
    }
  });
  const scores = await loglikelihoodTokens(lm, reqs, opts);
  const sums = new Array<number>(texts.length).fill(0);
  scores.forEach(([ll], j) => {
    sums[owner[j]] += ll;
  });
  return sums;
}

/**
 * lm-eval's `_loglikelihood_tokens`: the model input is `(context + continuation)` left-truncated
 * to `maxLength + 1` tokens minus the last; the continuation is scored at the last positions.
 * Rows are sorted longest first (so batches pad little and an out-of-memory error shows at once);
 * requests whose inputs are identical (e.g. one-token answers "A".."D" after the same prompt)
 * share one row, i.e. one forward pass, as lm-eval's logits cache does.
 */
export async function loglikelihoodTokens(
  lm: LM,
  requests: readonly TokenRequest[],
  opts: ScoringOptions = {},
): Promise<LoglikelihoodResponse[]> {
  const batchSize = Math.max(1, opts.batchSize ?? 1);
  const cache = opts.cache ?? new RequestCache();
  const out: LoglikelihoodResponse[] = new Array(requests.length);
  const keys = requests.map((r) => RequestCache.key(lm.id, r.contextEnc, r.continuationEnc));

  interface Group {
    input: number[];
    members: Array<{ index: number; start: number; tokens: number[] }>;
  }
  const groups = new Map<string, Group>();
  let cached = 0;
  requests.forEach((r, index) => {
    const hit = cache.get(keys[index]);
    if (hit) {
      out[index] = [hit.logprob, hit.isGreedy];
      cached++;
      return;
    }
    const cont = r.continuationEnc;
    if (cont.length === 0) throw new RequestError(`request ${index}: the continuation encodes to no tokens`);
    if (cont.length > lm.maxLength)
      throw new RequestError(
        `request ${index}: continuation of ${cont.length} tokens exceeds max length ${lm.maxLength}`,
      );
    const whole = [...r.contextEnc, ...cont];
    const input = whole.slice(Math.max(0, whole.length - (lm.maxLength + 1)), whole.length - 1);
    const gkey = input.join(",");
    let g = groups.get(gkey);
    if (!g) {
      g = { input, members: [] };
      groups.set(gkey, g);
    }
    g.members.push({ index, start: input.length - cont.length, tokens: cont });
  });

  const total = requests.length;
  let done = cached;
  opts.onProgress?.({ done, total, cached });
  const ordered = [...groups.values()].sort(
    (a, b) => b.input.length - a.input.length || lexCompare(a.input, b.input),
  );
  for (let b = 0; b < ordered.length; b += batchSize) {
    const batch = ordered.slice(b, b + batchSize);
    const rows: ScoreRow[] = batch.map((g) => ({
      input: g.input,
      queries: g.members.map((m) => ({ start: m.start, tokens: m.tokens })),
    }));
    const scored = await lm.scoreBatch(rows);
    const fresh: Array<[string, { logprob: number; isGreedy: boolean }]> = [];
    batch.forEach((g, i) => {
      g.members.forEach((m, q) => {
        const s = scored[i][q];
        let sum = 0;
        for (const lp of s.logprobs) sum += lp;
        out[m.index] = [sum, s.greedy];
        fresh.push([keys[m.index], { logprob: sum, isGreedy: s.greedy }]);
        done++;
      });
    });
    cache.setMany(fresh);
    opts.onProgress?.({ done, total, cached });
  }
  return out;
}

function lexCompare(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}
