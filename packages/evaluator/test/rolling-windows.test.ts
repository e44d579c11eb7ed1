import { describe, expect, test } from "vitest";
import { getRollingTokenWindows, makeDisjointWindow } from "../src/rolling-windows.js";

const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);
const P = -1; // prefix token

describe("getRollingTokenWindows + makeDisjointWindow (lm-eval 0.4, context_len=1)", () => {
  test("empty document: no windows", () => {
    expect(getRollingTokenWindows([], P, 4)).toEqual([]);
  });

  test("short document: one window, prefix then all tokens", () => {
    const w = getRollingTokenWindows([10, 11, 12], P, 4);
    expect(w).toEqual([
      [
        [P, 10, 11],
        [10, 11, 12],
      ],
    ]);
    expect(w.map(makeDisjointWindow)).toEqual([[[P], [10, 11, 12]]]);
  });

  test("exact multiple of max length: stride = max length, no overlap in predictions", () => {
    // Written out by hand from lm-eval's loop for tokens 0..7, max_seq_len 4.
    const w = getRollingTokenWindows(range(0, 8), P, 4);
    expect(w).toEqual([
      [
        [P, 0, 1, 2],
        [0, 1, 2, 3],
      ],
      [
        [3, 4, 5, 6],
        [4, 5, 6, 7],
      ],
    ]);
    expect(w.map(makeDisjointWindow)).toEqual([
      [[P], [0, 1, 2, 3]],
      [[3], [4, 5, 6, 7]],
    ]);
  });

  test("long document with a ragged last window keeps a full-length context", () => {
    const w = getRollingTokenWindows(range(0, 10), P, 4).map(makeDisjointWindow);
    expect(w).toEqual([
      [[P], [0, 1, 2, 3]],
      [[3], [4, 5, 6, 7]],
      [
        [5, 6, 7],
        [8, 9],
      ],
    ]);
    // The model input (context + continuation minus the last token) is then max_len long.
    const [c, t] = w[2];
    expect([...c, ...t].slice(0, -1)).toEqual([5, 6, 7, 8]);
  });

  test("every token is predicted exactly once, inputs never exceed max length", () => {
    for (const n of [1, 5, 31, 32, 33, 100]) {
      for (const L of [1, 2, 7, 32]) {
        const toks = range(100, 100 + n);
        const ws = getRollingTokenWindows(toks, P, L).map(makeDisjointWindow);
        expect(ws.flatMap(([, b]) => b)).toEqual(toks);
        for (const [a, b] of ws) {
          expect([...a, ...b].length - 1).toBeLessThanOrEqual(L);
          // The context ends right before the predicted span, as in the document.
          const whole = [P, ...toks];
          const at = whole.indexOf(b[0]);
          expect(a.at(-1)).toBe(whole[at - 1]);
        }
      }
    }
  });
});
