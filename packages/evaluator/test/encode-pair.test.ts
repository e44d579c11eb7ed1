import { describe, expect, test } from "vitest";
import { encodePair, trailingWhitespaceLength } from "../src/encode-pair.js";
import { ToyTokenizer } from "./helpers/toy-lm.js";

describe("encodePair (lm-eval _encode_pair)", () => {
  const tok = new ToyTokenizer();
  const enc = (t: string) => tok.encode(t);
  const ids = (...p: string[]) => p.map((x) => tok.vocab.get(x));

  test("plain split: continuation tokens are whole[len(context_enc):]", () => {
    const { contextEnc, continuationEnc } = encodePair(enc, "Question: x\nAnswer:", " A");
    expect(contextEnc).toEqual(ids("Question:", " x", "\nAnswer:"));
    expect(continuationEnc).toEqual(ids(" A"));
  });

  test("trailing space of the context moves to the continuation", () => {
    const { contextEnc, continuationEnc } = encodePair(enc, "Answer: ", "A");
    expect(contextEnc).toEqual(ids("Answer:"));
    expect(continuationEnc).toEqual(ids(" A"));
    // Without the move the context would end in a lone " " token and the continuation would be
    // split after it — exactly what lm-eval avoids.
    expect(tok.encode("Answer: ")).toEqual(ids("Answer:", " "));
  });

  test("several trailing whitespace characters (newlines too) all move", () => {
    const { contextEnc, continuationEnc } = encodePair(enc, "Q\n\n ", "x");
    expect(contextEnc).toEqual(ids("Q"));
    expect(continuationEnc).toEqual(ids("\n\n x"));
  });

  test("a continuation that merges with the context's last token is split by count", () => {
    // "Answer:" + "Yes" encodes to a single token "Answer:Yes"; context alone is one token, so the
    // continuation is empty: lm-eval behaves the same (and the engine rejects the request).
    const { continuationEnc } = encodePair(enc, "Answer:", "Yes");
    expect(continuationEnc).toEqual([]);
  });

  test("trailing whitespace uses Python's str.isspace set", () => {
    expect(trailingWhitespaceLength("a \t\n")).toBe(3);
    expect(trailingWhitespaceLength("a\u00a0\u2003")).toBe(2);
    expect(trailingWhitespaceLength("a\x1c")).toBe(1); // Python: whitespace; JS \s: not
    expect(trailingWhitespaceLength("a\ufeff")).toBe(0); // JS \s: whitespace; Python: not
    expect(trailingWhitespaceLength("abc")).toBe(0);
  });
});
