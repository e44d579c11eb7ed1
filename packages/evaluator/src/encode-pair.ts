/** Python's str.isspace() set (what `rstrip()` and `re.split(r"\s+")` use); JS's \s differs. */
export const PYTHON_WHITESPACE_CLASS =
  "[\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]";

const TRAILING = new RegExp(`${PYTHON_WHITESPACE_CLASS}+$`);

const EDGES = new RegExp(`^${PYTHON_WHITESPACE_CLASS}+|${PYTHON_WHITESPACE_CLASS}+$`, "g");

/** Python's `str.strip()` (Jinja's `.strip()` in lm-eval templates). */
export function pythonStrip(s: string): string {
  return s.replace(EDGES, "");
}

/** Python's `len(s) - len(s.rstrip())` (all whitespace is in the BMP, so UTF-16 units = code points). */
export function trailingWhitespaceLength(s: string): number {
  const m = TRAILING.exec(s);
  return m ? m[0].length : 0;
}

/**
 * lm-eval's `_encode_pair`: trailing whitespace of the context moves to the continuation, then
 * the continuation tokens are whatever `encode(context + continuation)` has past the token count
 * of `encode(context)`. Splitting by count (not by encoding the continuation alone) is what makes
 * SentencePiece's leading "▁" land on the continuation the way the model actually sees it.
 */
export function encodePair(
  encode: (text: string) => number[],
  context: string,
  continuation: string,
): { contextEnc: number[]; continuationEnc: number[] } {
  const nSpaces = trailingWhitespaceLength(context);
  let ctx = context;
  let cont = continuation;
  if (nSpaces > 0) {
    cont = context.slice(context.length - nSpaces) + continuation;
    ctx = context.slice(0, context.length - nSpaces);
  }
  const whole = encode(ctx + cont);
  const contextEnc = encode(ctx);
  return { contextEnc, continuationEnc: whole.slice(contextEnc.length) };
}
