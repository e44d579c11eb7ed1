"""Adds PyTorch's (logprob, is_greedy) to each case of test/fixtures/llama-golden.json.
Run by scripts/gen-llama-golden.mjs (from packages/evaluator)."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from torch_llama import load_safetensors, score_requests  # noqa: E402

path = "test/fixtures/llama-golden.json"
fx = json.load(open(path))
ckpt = fx["checkpoint"]
cfg = json.load(open(f"{ckpt}/config.json"))
w = load_safetensors(f"{ckpt}/model.safetensors")
res = score_requests(w, cfg, [(c["contextEnc"], c["continuationEnc"]) for c in fx["cases"]])
for c, (ll, greedy) in zip(fx["cases"], res):
    c["torch"] = {"logprob": ll, "isGreedy": greedy}
json.dump(fx, open(path, "w"), indent=1)
