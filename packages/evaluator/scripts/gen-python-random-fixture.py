"""Golden values for PythonRandom: CPython's own random.Random (run: python3 scripts/gen-python-random-fixture.py)."""
import json
import random

out = {"getrandbits32_seed1234": [], "samples": []}
r = random.Random(1234)
out["getrandbits32_seed1234"] = [r.getrandbits(32) for _ in range(700)]
for seed, n, k, reps in [(1234, 10, 3, 5), (1234, 1273, 3, 5), (1234, 4183, 11, 3), (1234, 50, 10, 4), (42, 7, 7, 2), (0, 100, 2, 3), (2**40 + 5, 30, 4, 2)]:
    r = random.Random(seed)
    out["samples"].append({"seed": seed, "n": n, "k": k, "draws": [r.sample(range(n), k) for _ in range(reps)]})
with open("test/fixtures/python-random.json", "w") as f:
    json.dump(out, f)
