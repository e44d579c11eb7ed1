#!/usr/bin/env python3
"""Vendor the small upstream-format samples in data/samples from ../shared/data (MIT-licensed
copies of the public releases). Run from the repo root:  python3 packages/instruct-mixer/scripts/make-samples.py
Hand-written samples (Alpaca-style, exemplar sets) are edited directly and not produced here."""
import json, os, shutil

root = os.path.dirname(os.path.abspath(__file__))
shared = os.path.normpath(os.path.join(root, "../../../../shared/data"))
out = os.path.join(root, "../data/samples")

def w(path, text):
    p = os.path.join(out, path)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "w", encoding="utf-8") as f:
        f.write(text)

# MedQA-USMLE: first 6 questions of the 5-option US test file, upstream line format.
with open(os.path.join(shared, "medqa/test.jsonl"), encoding="utf-8") as f:
    w("medqa/US/sample.jsonl", "".join(next(f) for _ in range(6)))
shutil.copy(os.path.join(shared, "medqa/UPSTREAM_LICENSE"), os.path.join(out, "medqa/LICENSE"))

# MedMCQA: first 8 lines of the release dev.json (JSON Lines).
with open(os.path.join(shared, "medmcqa/dev.json"), encoding="utf-8") as f:
    w("medmcqa/sample.json", "".join(next(f) for _ in range(8)))
shutil.copy(os.path.join(shared, "medmcqa/UPSTREAM_LICENSE.md"), os.path.join(out, "medmcqa/LICENSE"))

# PubMedQA: 5 PQA-L records verbatim, and 5 more in pqa_artificial's shape (no reasoning_* fields).
pqal = json.load(open(os.path.join(shared, "pubmedqa/ori_pqal.json"), encoding="utf-8"))
items = list(pqal.items())
w("pubmedqa/ori_pqal.sample.json", json.dumps(dict(items[:5]), indent=4) + "\n")
art = {k: {f: v for f, v in r.items() if not f.startswith("reasoning_")} for k, r in items[5:10]}
w("pubmedqa/ori_pqaa.sample.json", json.dumps(art, indent=4) + "\n")
shutil.copy(os.path.join(shared, "pubmedqa/UPSTREAM_LICENSE"), os.path.join(out, "pubmedqa/LICENSE"))

# MMLU CoT prompts: three subjects, verbatim.
cot = json.load(open(os.path.join(shared, "cot_prompts/mmlu-cot.json"), encoding="utf-8"))
keep = ["anatomy", "college_medicine", "medical_genetics"]
w("mmlu-cot/mmlu-cot.sample.json", json.dumps({k: cot[k] for k in keep}, indent=4) + "\n")
shutil.copy(os.path.join(shared, "cot_prompts/UPSTREAM_LICENSE"), os.path.join(out, "mmlu-cot/LICENSE"))
