"""Golden 0-shot requests for every task on the vendored data, written independently of the
TypeScript specs: lm-eval 0.4's prompt functions (medqa/preprocess_medqa.py, medmcqa/utils_medmcqa.py,
pubmedqa/preprocess_pubmedqa.py, mmlu/default/_default_template_yaml, pile/pile_arxiv.yaml) and
BioMed-LLaMA's lm-eval 0.3 tasks (usmleqa.py, medmcqa.py, pubmedqa.py), over the release files.
For each task, the first N documents of the evaluated split: the context (description + prompt),
the scored continuations (target delimiter + choice) and the gold index; for the Pile, the text.
Run from packages/evaluator: python3 scripts/gen-prompt-fixture.py"""
import csv
import json

N = 3
MMLU_SUBJECTS = [
    "anatomy",
    "clinical_knowledge",
    "college_biology",
    "college_medicine",
    "medical_genetics",
    "professional_medicine",
]


def jsonl(path):
    return [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]


def medqa_text(doc, letters):  # preprocess_medqa.doc_to_text over the release's fields
    answers = "".join(f"{k}. {doc['options'][k]}\n" for k in letters)
    return f"Question: {doc['question']}\n{answers}Answer:"


def medmcqa_text(doc):  # utils_medmcqa.doc_to_text
    prompt = "Question: " + doc["question"] + "\nChoices:\n"
    for letter, option in zip("ABCD", [doc["opa"], doc["opb"], doc["opc"], doc["opd"]]):
        prompt += f"{letter.upper()}. {option}\n"
    return prompt + "Answer:"


def pubmedqa_text(doc):  # preprocess_pubmedqa.doc_to_text
    return "Abstract: {}\nQuestion: {}\nAnswer:".format("\n".join(doc["CONTEXTS"]), doc["QUESTION"])


def mmlu_text(row):  # _default_template_yaml doc_to_text
    q, a, b, c, d, _ = row
    return f"{q.strip()}\nA. {a}\nB. {b}\nC. {c}\nD. {d}\nAnswer:"


def mc(context, choices, delimiter, gold):
    return {"context": context, "continuations": [delimiter + c for c in choices], "gold": gold}


medqa4 = jsonl("data/medqa/phrases_no_exclude_test.jsonl")[:N]
medqa5 = jsonl("data/medqa/test.jsonl")[:N]
medmcqa = jsonl("data/medmcqa/dev.json")[:N]
test_set = json.load(open("data/pubmedqa/test_set.json", encoding="utf-8"))
truth = json.load(open("data/pubmedqa/test_ground_truth.json", encoding="utf-8"))
pqal = json.load(open("data/pubmedqa/ori_pqal.json", encoding="utf-8"))
pile_set = {
    name: [r["text"] for r in jsonl("data/pile/test.jsonl") if r["meta"]["pile_set_name"] == name][:N]
    for name in ["PubMed Abstracts", "PubMed Central"]
}
LABELS = ["yes", "no", "maybe"]

fx = {
    "medqa_4options": [mc(medqa_text(d, "ABCD"), "ABCD", " ", "ABCD".index(d["answer_idx"])) for d in medqa4],
    "medqa_5options": [mc(medqa_text(d, "ABCDE"), "ABCDE", " ", "ABCDE".index(d["answer_idx"])) for d in medqa5],
    "medmcqa": [mc(medmcqa_text(d), "ABCD", " ", d["cop"] - 1) for d in medmcqa],
    "pubmedqa": [
        mc(pubmedqa_text(v), LABELS, " ", LABELS.index(truth[k])) for k, v in list(test_set.items())[:N]
    ],
    # BioMed-LLaMA: the question alone, each option's text scored.
    "usmleqa": [
        mc(f"Question: {d['question']}\nAnswer:", [d["options"][k] for k in "ABCD"], " ", "ABCD".index(d["answer_idx"]))
        for d in medqa4
    ],
    "medmcqa_biomedllama": [
        mc(f"Question: {d['question']}\nAnswer:", [d["opa"], d["opb"], d["opc"], d["opd"]], " ", d["cop"] - 1)
        for d in medmcqa
    ],
    "pubmedqa_biomedllama": [
        mc(pubmedqa_text(v), ["Yes", "No", "Maybe"], "", LABELS.index(v["final_decision"]))
        for v in list(pqal.values())[:N]
    ],
}
for s in MMLU_SUBJECTS:
    rows = list(csv.reader(open(f"data/mmlu_medical/test/{s}_test.csv", encoding="utf-8")))[:N]
    desc = f"The following are multiple choice questions (with answers) about {s.replace('_', ' ')}.\n\n"
    fx[f"mmlu_{s}"] = [mc(desc + mmlu_text(r), "ABCD", " ", "ABCD".index(r[5])) for r in rows]
for task, name in [
    ("pile_pubmed_abstracts", "PubMed Abstracts"),
    ("pile_pubmed_central", "PubMed Central"),
    ("pile_pubmed_abstracts_eos", "PubMed Abstracts"),
    ("pile_pubmed_central_eos", "PubMed Central"),
]:
    fx[task] = [{"target": t} for t in pile_set[name]]

json.dump(fx, open("test/fixtures/lm-eval-prompts.json", "w", encoding="utf-8"), indent=1)
