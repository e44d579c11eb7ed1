/**
 * lm-eval's `get_rolling_token_windows`: the first window predicts its own tokens after a single
 * prefix token; each later window predicts the next `maxSeqLen - contextLen + 1` tokens, using
 * as much preceding text as fits as context. Every token is predicted exactly once.
 * Returns [input, predicted] pairs where input is the window fed to the model (before
 * `makeDisjointWindow`).
 */
export function getRollingTokenWindows(
  tokenList: readonly number[],
  prefixToken: number,
  maxSeqLen: number,
  contextLen = 1,
): Array<[number[], number[]]> {
  if (!(contextLen >= 1 && contextLen <= maxSeqLen)) {
    throw new RangeError(`contextLen must be in [1, ${maxSeqLen}], got ${contextLen}`);
  }
  const out: Array<[number[], number[]]> = [];
  if (tokenList.length === 0) return out;
  const predLen = maxSeqLen - contextLen + 1;
  let predicted = 0;
  const firstSeqLen = Math.min(maxSeqLen, tokenList.length);
  out.push([[prefixToken, ...tokenList.slice(0, firstSeqLen - 1)], tokenList.slice(0, firstSeqLen)]);
  predicted += firstSeqLen;
  while (predicted < tokenList.length) {
    const windowPredLen = Math.min(tokenList.length - predicted, predLen);
    const windowEnd = predicted + windowPredLen;
    out.push([
      pySlice(tokenList, windowEnd - maxSeqLen - 1, windowEnd - 1),
      tokenList.slice(windowEnd - windowPredLen, windowEnd),
    ]);
    predicted += windowPredLen;
  }
  return out;
}

/** lm-eval's `make_disjoint_window`: drop from the context the tokens that are also predicted. */
export function makeDisjointWindow([a, b]: [number[], number[]]): [number[], number[]] {
  return [a.slice(0, a.length - (b.length - 1)), b];
}

/** Python slice semantics for a possibly negative start (only reachable with contextLen > 1). */
function pySlice(list: readonly number[], start: number, end: number): number[] {
  const n = list.length;
  const s = start < 0 ? Math.max(n + start, 0) : start;
  const e = end < 0 ? Math.max(n + end, 0) : end;
  return list.slice(s, Math.max(s, e));
}
