import { readFileSync } from "node:fs";
import { expect, test } from "vitest";
import { PythonRandom } from "../src/python-random.js";

// Golden values from CPython's random.Random (scripts/gen-python-random-fixture.py).
const fx = JSON.parse(readFileSync(new URL("./fixtures/python-random.json", import.meta.url), "utf8")) as {
  getrandbits32_seed1234: number[];
  samples: Array<{ seed: number; n: number; k: number; draws: number[][] }>;
};

test("MT19937 stream equals CPython's Random(1234).getrandbits(32), across a state refill", () => {
  const r = new PythonRandom(1234);
  expect(fx.getrandbits32_seed1234.map(() => r.getrandbits(32))).toEqual(fx.getrandbits32_seed1234);
});

test("sample() equals CPython's for the pool and the set algorithms and several seeds", () => {
  for (const s of fx.samples) {
    const r = new PythonRandom(s.seed);
    const pop = Array.from({ length: s.n }, (_, i) => i);
    for (const draw of s.draws) expect(r.sample(pop, s.k)).toEqual(draw);
  }
});

test("stateDict / loadStateDict resume the stream exactly", () => {
  const a = new PythonRandom(1234);
  a.sample([1, 2, 3, 4, 5, 6, 7], 3);
  const saved = a.stateDict();
  const next = [a.getrandbits(32), a.getrandbits(32)];
  const b = new PythonRandom(99);
  b.loadStateDict(saved);
  expect([b.getrandbits(32), b.getrandbits(32)]).toEqual(next);
  expect(fx.getrandbits32_seed1234.slice(0, 3)).not.toEqual(next);
});
