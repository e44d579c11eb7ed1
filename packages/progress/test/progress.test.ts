import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { createProgress, type ProgressOptions } from "../src/index.js";

/** A number lets that many ms pass; [done] or [done, total] is an update; "stop" stops; a function runs. */
type Step = number | [number] | [number, number] | "stop" | (() => void);

/** What a progress on a plain (isTTY false) or TTY stream writes for `steps`, on a fake clock. */
function written(label: string, opts: Omit<ProgressOptions, "stream">, steps: Step[], isTTY = false): string {
  const chunks: string[] = [];
  const stream = {
    isTTY,
    columns: 200,
    write: (s: string) => chunks.push(s) > 0,
  } as unknown as NodeJS.WritableStream;
  const p = createProgress(label, { ...opts, stream });
  for (const step of steps)
    if (step === "stop") p.stop();
    else if (typeof step === "number") vi.advanceTimersByTime(step);
    else if (typeof step === "function") step();
    else p.update(step[0], step[1]);
  return chunks.join("");
}
const lines = (label: string, opts: Omit<ProgressOptions, "stream">, steps: Step[]) =>
  written(label, opts, steps).split("\n").filter(Boolean);

const MB = { unit: "MB", scale: 1e6 };

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(1_000_000);
});
afterEach(() => vi.useRealTimers());

describe("plain lines (not a TTY)", () => {
  test("the first update prints at once, then at most one line per logEverySec", () => {
    // 4 s in: throttled; 10 s after the first line: printed; 1 s later: throttled again.
    expect(
      lines("extract", { total: 100e6, ...MB }, [[0], 4_000, [20e6], 6_000, [50e6], 1_000, [60e6]]),
    ).toEqual([
      "extract: 0.0/100.0 MB (0.0%) | 0.0 MB/s | ETA ?",
      "extract: 50.0/100.0 MB (50.0%) | 5.0 MB/s | ETA 10s",
    ]);
  });

  test("logEverySec sets the interval", () => {
    const out = lines("load", { total: 10, unit: "MB", logEverySec: 5 }, [[1], 5_000, [2], 4_999, [3]]);
    expect(out.map((l) => l.split(" |")[0])).toEqual(["load: 1/10 MB (10.0%)", "load: 2/10 MB (20.0%)"]);
  });

  test("stop() prints the latest position when the last line did not show it, at its update's rate", () => {
    const out = lines("init", { total: 4.2e6, unit: "M params", scale: 1e6 }, [[1e6], 2_000, [4.2e6], 3_000]);
    expect(out).toHaveLength(1);
    const all = lines("init", { total: 4.2e6, unit: "M params", scale: 1e6 }, [
      [1e6],
      2_000,
      [4.2e6],
      3_000,
      "stop",
    ]);
    expect(all.at(-1)).toBe("init: 4.2/4.2 M params (100.0%) | 2.1 M params/s | ETA 0s");
  });

  test("stop() prints nothing more when the last line showed the latest position; a second stop() neither", () => {
    expect(lines("x", { total: 3, unit: "draws" }, [[3], [3], "stop", "stop"])).toEqual([
      "x: 3/3 draws (100.0%) | 3000.0 draws/s | ETA 0s",
    ]);
  });

  test("firstLine after-interval: a short job prints nothing, stop() included", () => {
    const opts = { total: 10, unit: "MB", firstLine: "after-interval" } as const;
    expect(written("tokenize", opts, [[5], 9_000, [10], "stop"])).toBe("");
    expect(lines("tokenize", opts, [10_000, [4], 1_000, [10], "stop"])).toEqual([
      "tokenize: 4/10 MB (40.0%) | 0.4 MB/s | ETA 15s",
      "tokenize: 10/10 MB (100.0%) | 0.9 MB/s | ETA 0s",
    ]);
  });

  test("updates after stop() are ignored", () => {
    expect(lines("x", { total: 10, unit: "u" }, [[1], "stop", 20_000, [5], "stop"])).toHaveLength(1);
  });
});

describe("rate and ETA", () => {
  test("the rate is per second since creation, scaled, and the ETA follows from it", () => {
    expect(lines("extract", { total: 100e6, ...MB }, [4_000, [25e6]])).toEqual([
      "extract: 25.0/100.0 MB (25.0%) | 6.3 MB/s | ETA 12s",
    ]);
  });

  test("digits and rateText shape the numbers: GB read at MB/s", () => {
    const opts = {
      unit: "GB",
      scale: 1e9,
      digits: 2,
      rateText: (s: { rate: number }) => `${(s.rate / 1e6).toFixed(0)} MB/s`,
    };
    expect(lines("biomed-eval load", opts, [[0, 0.5e9], 2_000, [0.5e9], "stop"])).toEqual([
      "biomed-eval load: 0.00/0.50 GB (0.0%) | 0 MB/s | ETA ?",
      "biomed-eval load: 0.50/0.50 GB (100.0%) | 250 MB/s | ETA 0s",
    ]);
  });

  test('rateFrom "first-update": positions done at the first update (cache hits) do not count', () => {
    const docs = 10;
    const opts: Omit<ProgressOptions, "stream"> = {
      unit: "requests",
      rateFrom: "first-update",
      rateText: (s) => `${s.rate.toFixed(1)} req/s | ${((s.rate * docs) / s.total).toFixed(2)} docs/s`,
    };
    // 20 of 40 answered from the cache, then 10 scored in 10 s.
    expect(lines("biomed-eval loglikelihood", opts, [[20, 40], 10_000, [30, 40]])).toEqual([
      "biomed-eval loglikelihood: 20/40 requests (50.0%) | 0.0 req/s | 0.00 docs/s | ETA ?",
      "biomed-eval loglikelihood: 30/40 requests (75.0%) | 1.0 req/s | 0.25 docs/s | ETA 10s",
    ]);
  });

  test("an update may change the total; an empty total is 100 %; no ETA past the total", () => {
    expect(lines("x", { unit: "u" }, [[0, 0], 10_000, [12, 10]])).toEqual([
      "x: 0/0 u (100.0%) | 0.0 u/s | ETA ?",
      "x: 12/10 u (120.0%) | 1.2 u/s | ETA 0s",
    ]);
  });

  test("detail: a count beside the position; stop() prints it when it changed at the same position", () => {
    let tokens = 100;
    const opts: Omit<ProgressOptions, "stream"> = {
      total: 2e6,
      ...MB,
      detail: () => `${tokens} tokens`,
      rateText: (s) => `${Math.round(tokens / s.seconds)} tokens/s`,
    };
    const more = () => {
      tokens = 500;
    };
    expect(lines("tokenize", opts, [[2e6], 2_000, more, [2e6], "stop"])).toEqual([
      "tokenize: 2.0/2.0 MB (100.0%) | 100 tokens | 100000 tokens/s | ETA 0s",
      "tokenize: 2.0/2.0 MB (100.0%) | 500 tokens | 250 tokens/s | ETA 0s",
    ]);
  });
});

describe("a TTY", () => {
  test("gets a live bar with the same numbers, ended by stop()", () => {
    const text = written("extract", { total: 100e6, ...MB }, [[0], 2_000, [50e6], "stop"], true);
    expect(text).toContain("extract [");
    expect(text).toContain("] 50% | 50.0/100.0 MB | 25.0 MB/s | ETA 2s");
    expect(text).not.toContain("extract: ");
  });
});
