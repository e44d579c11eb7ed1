"""Golden few-shot contexts for the vendored data, written independently of the TypeScript code:
lm-eval's preprocess functions (medqa, pubmedqa, mmlu template) and its ContextSampler logic
(random.Random(1234), one generator per task consumed doc by doc, k+1 drawn and the current doc
dropped when sampling from the evaluated split; FirstNSampler for MMLU).
Run from packages/evaluator: python3 scripts/gen-fewshot-fixture.py"""
import csv
import json
import random


def medqa_text(doc):  # lm_eval/tasks/medqa/preprocess_medqa.py over the release's fields
    answers = "".join(f"{k}. {v}\n" for k, v in doc["options"].items())
    return f"Question: {doc['question']}\n{answers}Answer:"


def pubmedqa_text(doc):  # lm_eval/tasks/pubmedqa/preprocess_pubmedqa.py
    return "Abstract: {}\nQuestion: {}\nAnswer:".format("\n".join(doc["CONTEXTS"]), doc["QUESTION"])


def mmlu_text(doc):  # lm_eval/tasks/mmlu/default/_default_template_yaml
    q, a, b, c, d, _ = doc
    return f"{q.strip()}\nA. {a}\nB. {b}\nC. {c}\nD. {d}\nAnswer:"


def contexts(docs, fs_docs, k, same_split, text, target, description="", first_n=False, n=5):
    rnd = random.Random(1234)
    out = []
    for doc in docs[:n]:
        if first_n:
            ex = fs_docs[: (k + 1 if same_split else k)]
        else:
            ex = rnd.sample(fs_docs, k + 1 if same_split else k)
        ex = [x for x in ex if x != doc][:k]
        labeled = "".join(text(x) + " " + target(x) + "\n\n" for x in ex)
        out.append(description + labeled + text(doc))
    return out


medqa = [json.loads(l) for l in open("data/medqa/phrases_no_exclude_test.jsonl", encoding="utf-8")]
medqa = [dict(d, options={k: d["options"][k] for k in "ABCD"}) for d in medqa]
test_set = json.load(open("data/pubmedqa/test_set.json", encoding="utf-8"))
gt = json.load(open("data/pubmedqa/test_ground_truth.json", encoding="utf-8"))
pqal = json.load(open("data/pubmedqa/ori_pqal.json", encoding="utf-8"))
pm_test = [dict(QUESTION=v["QUESTION"], CONTEXTS=v["CONTEXTS"], final_decision=gt[k]) for k, v in test_set.items()]
pm_train = [dict(QUESTION=v["QUESTION"], CONTEXTS=v["CONTEXTS"], final_decision=v["final_decision"]) for k, v in pqal.items() if k not in gt]
anat_test = list(csv.reader(open("data/mmlu_medical/test/anatomy_test.csv", encoding="utf-8")))
anat_dev = list(csv.reader(open("data/mmlu_medical/dev/anatomy_dev.csv", encoding="utf-8")))

fixture = {
    "medqa_4options_3shot_from_test": contexts(medqa, medqa, 3, True, medqa_text, lambda d: d["answer_idx"]),
    "pubmedqa_1shot_from_train": contexts(pm_test, pm_train, 1, False, pubmedqa_text, lambda d: d["final_decision"]),
    "mmlu_anatomy_2shot": contexts(
        anat_test, anat_dev, 2, False, mmlu_text, lambda d: d[5],
        description="The following are multiple choice questions (with answers) about anatomy.\n\n", first_n=True,
    ),
}
json.dump(fixture, open("test/fixtures/fewshot-contexts.json", "w", encoding="utf-8"), indent=1)
