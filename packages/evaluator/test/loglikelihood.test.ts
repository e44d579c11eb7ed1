import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { RequestError } from "../src/errors.js";
import {
  encodeRequests,
  loglikelihood,
  loglikelihoodRolling,
  loglikelihoodTokens,
} from "../src/loglikelihood.js";
import { RequestCache } from "../src/request-cache.js";
import { BigramLM } from "./helpers/toy-lm.js";

describe("loglikelihood", () => {
  test("sums the continuation's log-probs (checked against a naive bigram sum)", async () => {
    const lm = new BigramLM(64, 32);
    const ctx = "Question: which one\nAnswer:";
    const conts = [" alpha beta", " gamma", " delta epsilon zeta"];
    const res = await loglikelihood(
      lm,
      conts.map((c) => ({ context: ctx, continuation: c })),
    );
    const ctxIds = lm.encode(ctx);
    conts.forEach((c, i) => {
      const contIds = lm.encode(ctx + c).slice(ctxIds.length);
      expect(res[i][0]).toBeCloseTo(lm.ll(ctxIds.at(-1) as number, contIds), 12);
    });
  });

  test("uniform model: ll = -n·ln V exactly, greedy only where ties make the first token argmax", async () => {
    const V = 40;
    const lm = new BigramLM(V, 16, () => 0);
    const [[ll]] = await loglikelihood(lm, [{ context: "a b", continuation: " c d e" }]);
    expect(ll).toBeCloseTo(-3 * Math.log(V), 12);
  });

  test("is_greedy is true iff every continuation token is the argmax", async () => {
    // logit(i, j) = 1 if j == i + 1 else 0: the greedy continuation of token i is i + 1.
    const lm = new BigramLM(32, 16, (i, j) => (j === i + 1 ? 1 : 0));
    lm.encode("t3 t4 t5 t6 t9"); // ids 3, 4, 5, 6, 7 in order of first sight
    const res = await loglikelihoodTokens(lm, [
      { contextEnc: [3], continuationEnc: [4, 5, 6] },
      { contextEnc: [3], continuationEnc: [4, 6] },
    ]);
    expect(res[0][1]).toBe(true);
    expect(res[1][1]).toBe(false);
    const e = Math.E;
    const pTop = Math.log(e / (e + 31));
    const pOther = Math.log(1 / (e + 31));
    expect(res[0][0]).toBeCloseTo(3 * pTop, 12);
    expect(res[1][0]).toBeCloseTo(pTop + pOther, 12);
  });

  test("one-token continuations sharing a context take one forward pass", async () => {
    const lm = new BigramLM(64, 64);
    const ctx = "Question: q\nA. x\nB. y\nC. z\nD. w\nAnswer:";
    const reqs = [" A", " B", " C", " D"].map((c) => ({ context: ctx, continuation: c }));
    const res = await loglikelihood(lm, reqs, { batchSize: 8 });
    const rows = lm.rowsSeen.flat();
    expect(rows).toHaveLength(1);
    expect(rows[0].queries).toHaveLength(4);
    const last = lm.encode(ctx).at(-1) as number;
    for (const [i, r] of reqs.entries())
      expect(res[i][0]).toBeCloseTo(lm.logp[last][lm.encode(r.continuation)[0]], 12);
  });

  test("batches hold at most batchSize rows, longest inputs first; order of answers is the request order", async () => {
    const lm = new BigramLM(128, 64);
    const reqs = ["a", "a b c d e", "a b", "a b c d e f g", "a b c"].map((c) => ({
      context: c,
      continuation: " z",
    }));
    const res = await loglikelihood(lm, reqs, { batchSize: 2 });
    expect(lm.rowsSeen.map((b) => b.length)).toEqual([2, 2, 1]);
    const lens = lm.rowsSeen.flat().map((r) => r.input.length);
    expect(lens).toEqual([...lens].sort((a, b) => b - a));
    const z = lm.encode(" z")[0];
    for (const [i, r] of reqs.entries())
      expect(res[i][0]).toBeCloseTo(lm.logp[lm.encode(r.context).at(-1) as number][z], 12);
  });

  test("left-truncation: the input is (context+continuation)[-(max+1):][:-1]", async () => {
    const lm = new BigramLM(64, 4);
    const ctx = [5, 6, 7, 8, 9, 10];
    const cont = [11, 12];
    const [[ll]] = await loglikelihoodTokens(lm, [{ contextEnc: ctx, continuationEnc: cont }]);
    expect(lm.rowsSeen[0][0].input).toEqual([8, 9, 10, 11]);
    expect(lm.rowsSeen[0][0].queries[0]).toEqual({ start: 2, tokens: [11, 12] });
    expect(ll).toBeCloseTo(lm.logp[10][11] + lm.logp[11][12], 12);
  });

  test("a continuation longer than max length, or empty, is a RequestError", async () => {
    const lm = new BigramLM(64, 2);
    await expect(loglikelihoodTokens(lm, [{ contextEnc: [3], continuationEnc: [4, 5, 6] }])).rejects.toThrow(
      RequestError,
    );
    await expect(loglikelihoodTokens(lm, [{ contextEnc: [3], continuationEnc: [] }])).rejects.toThrow(
      /no tokens/,
    );
  });

  test("--add-bos prepends BOS to context and whole alike; the continuation split is unchanged", () => {
    const lm = new BigramLM(64, 16);
    const [plain] = encodeRequests(lm, [{ context: "Answer:", continuation: " yes" }]);
    const [bos] = encodeRequests(lm, [{ context: "Answer:", continuation: " yes" }], { addBos: true });
    expect(bos.contextEnc).toEqual([lm.bosId, ...plain.contextEnc]);
    expect(bos.continuationEnc).toEqual(plain.continuationEnc);
  });

  test("empty context: the single prefix token (BOS) is the context", () => {
    const lm = new BigramLM(64, 16);
    const [r] = encodeRequests(lm, [{ context: "", continuation: "hello world" }]);
    expect(r.contextEnc).toEqual([lm.bosId]);
    expect(r.continuationEnc).toEqual(lm.encode("hello world"));
  });
});

describe("loglikelihood_rolling", () => {
  test("equals the naive sum over the document with the prefix token first, at any max length", async () => {
    const text = Array.from({ length: 23 }, (_, i) => `w${i % 9}`).join(" ");
    for (const L of [1, 3, 4, 23, 24, 50]) {
      const lm = new BigramLM(64, L);
      const ids = lm.encode(text);
      const [bos] = await loglikelihoodRolling(lm, [text]);
      expect(bos).toBeCloseTo(lm.ll(lm.bosId, ids), 10);
      const [eos] = await loglikelihoodRolling(lm, [text], { prefixToken: lm.eosId });
      expect(eos).toBeCloseTo(lm.ll(lm.eosId, ids), 10);
    }
  });

  test("a document of 2·L tokens takes exactly two windows of L inputs", async () => {
    const lm = new BigramLM(64, 4);
    await loglikelihoodRolling(lm, ["a b c d e f g h"], { batchSize: 10 });
    expect(lm.rowsSeen.flat().map((r) => r.input.length)).toEqual([4, 4]);
  });
});

describe("request cache", () => {
  test("an interrupted run resumes: cached requests are not rescored", async () => {
    const dir = mkdtempSync(join(tmpdir(), "eval-cache-"));
    const path = join(dir, "cache.jsonl");
    const reqs = ["a", "a b", "a b c", "a b c d"].map((c) => ({ context: c, continuation: " end" }));
    const lm = new BigramLM(64, 16);
    // First run "crashes" after the first batch.
    let calls = 0;
    const crashing = Object.assign(Object.create(Object.getPrototypeOf(lm)), lm, {
      scoreBatch: async (rows: Parameters<BigramLM["scoreBatch"]>[0]) => {
        if (calls++ > 0) throw new Error("killed");
        return lm.scoreBatch(rows);
      },
    });
    await expect(
      loglikelihood(crashing, reqs, { batchSize: 2, cache: new RequestCache(path) }),
    ).rejects.toThrow("killed");
    expect(readFileSync(path, "utf8").trim().split("\n")).toHaveLength(2);
    // A half-written line (crash mid-append) is dropped with a warning, and cut off before the next
    // append: the rows scored now start lines of their own instead of being glued onto it.
    writeFileSync(path, `${readFileSync(path, "utf8")}{"k":"abc","ll":-1`);

    const fresh = new BigramLM(64, 16);
    const progress: number[] = [];
    const warnings: string[] = [];
    const res = await loglikelihood(fresh, reqs, {
      batchSize: 2,
      cache: new RequestCache(path, (m) => warnings.push(m)),
      onProgress: (p) => progress.push(p.cached),
    });
    expect(warnings).toEqual([`${path}: ignored a torn last line 3 (an interrupted write)`]);
    const lines = readFileSync(path, "utf8").split("\n");
    expect(lines.pop()).toBe("");
    expect(lines.map((l) => JSON.parse(l).k)).toHaveLength(4); // whole: every line parses
    expect(new RequestCache(path).size).toBe(4);
    expect(fresh.rowsSeen.flat()).toHaveLength(2); // only the two unscored requests
    expect(progress[0]).toBe(2);
    const ref = await loglikelihood(new BigramLM(64, 16), reqs);
    expect(res).toEqual(ref);
  });

  test("the key depends on the model id and the exact tokens", () => {
    const a = RequestCache.key("m1", [1, 2], [3]);
    expect(RequestCache.key("m2", [1, 2], [3])).not.toBe(a);
    expect(RequestCache.key("m1", [1], [2, 3])).not.toBe(a);
    expect(RequestCache.key("m1", [1, 2], [3])).toBe(a);
  });
});
