"""Cut the small vendored subsets in data/ from the full releases (run from packages/evaluator:
python3 scripts/vendor-data.py /path/to/shared/data). Files keep their upstream formats."""
import json
import os
import shutil
import sys

SRC = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/data"
DST = "data"
N = 20
MMLU_LICENSE = """MIT License

Copyright (c) 2020 Dan Hendrycks

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
"""


def head_lines(src, dst, n=N):
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    with open(src, encoding="utf-8") as f, open(dst, "w", encoding="utf-8") as g:
        for i, line in enumerate(f):
            if i >= n:
                break
            g.write(line)


def copy(src, dst):
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    shutil.copyfile(src, dst)


# MedQA: first 20 test questions of both releases (same questions, same order).
head_lines(f"{SRC}/medqa/phrases_no_exclude_test.jsonl", f"{DST}/medqa/phrases_no_exclude_test.jsonl")
head_lines(f"{SRC}/medqa/test.jsonl", f"{DST}/medqa/test.jsonl")
copy(f"{SRC}/medqa/UPSTREAM_LICENSE", f"{DST}/medqa/UPSTREAM_LICENSE")
copy(f"{SRC}/medqa/MIRAGE_LICENSE", f"{DST}/medqa/MIRAGE_LICENSE")

# MedMCQA: first 20 validation questions.
head_lines(f"{SRC}/medmcqa/dev.json", f"{DST}/medmcqa/dev.json")
copy(f"{SRC}/medmcqa/UPSTREAM_LICENSE.md", f"{DST}/medmcqa/UPSTREAM_LICENSE.md")

# PubMedQA: first 20 items of the test split, and ori_pqal.json restricted to those 20 plus the
# first 20 PQA-L items outside the test split (so "train" and "all" are non-empty).
with open(f"{SRC}/pubmedqa/test_set.json", encoding="utf-8") as f:
    test_set = json.load(f)
with open(f"{SRC}/pubmedqa/test_ground_truth.json", encoding="utf-8") as f:
    gt = json.load(f)
with open(f"{SRC}/pubmedqa/ori_pqal.json", encoding="utf-8") as f:
    pqal = json.load(f)
test_ids = list(test_set)[:N]
train_ids = [k for k in pqal if k not in gt][:N]
os.makedirs(f"{DST}/pubmedqa", exist_ok=True)
with open(f"{DST}/pubmedqa/test_set.json", "w", encoding="utf-8") as f:
    json.dump({k: test_set[k] for k in test_ids}, f, indent=4)
with open(f"{DST}/pubmedqa/test_ground_truth.json", "w", encoding="utf-8") as f:
    json.dump({k: gt[k] for k in test_ids}, f, indent=4)
with open(f"{DST}/pubmedqa/ori_pqal.json", "w", encoding="utf-8") as f:
    json.dump({k: pqal[k] for k in pqal if k in set(test_ids) | set(train_ids)}, f, indent=4)
copy(f"{SRC}/pubmedqa/UPSTREAM_LICENSE", f"{DST}/pubmedqa/UPSTREAM_LICENSE")

# MMLU medical subjects: the 5 dev items (few-shot source) and the first 20 test items.
for name in sorted(os.listdir(f"{SRC}/mmlu_medical/dev")):
    copy(f"{SRC}/mmlu_medical/dev/{name}", f"{DST}/mmlu_medical/dev/{name}")
for name in sorted(os.listdir(f"{SRC}/mmlu_medical/test")):
    head_lines(f"{SRC}/mmlu_medical/test/{name}", f"{DST}/mmlu_medical/test/{name}")

# MMLU's license (hendrycks/test is MIT; the shared copy has no license file beside it).
with open(f"{DST}/mmlu_medical/UPSTREAM_LICENSE", "w", encoding="utf-8") as f:
    f.write(MMLU_LICENSE)

# A Pile-format sample ({"text", "meta": {"pile_set_name"}} per line, zstd-compressed like the
# Pile's shards). The Pile itself is not redistributable here, so the "PubMed Abstracts" records are
# the 20 PubMedQA test abstracts (contexts + conclusion), and two records of another set show the
# filter at work. It is NOT Pile data: it is for tests and the demo only.
os.makedirs(f"{DST}/pile", exist_ok=True)
with open(f"{DST}/pile/test.jsonl", "w", encoding="utf-8") as f:
    for k in test_ids:
        r = test_set[k]
        text = "\n".join(r["CONTEXTS"] + [r["LONG_ANSWER"]])
        f.write(json.dumps({"text": text, "meta": {"pile_set_name": "PubMed Abstracts"}}) + "\n")
        if k == test_ids[3] or k == test_ids[11]:
            f.write(json.dumps({"text": r["QUESTION"], "meta": {"pile_set_name": "Pile-CC"}}) + "\n")
os.system(f"zstd -q -f -19 {DST}/pile/test.jsonl -o {DST}/pile/test.jsonl.zst")
