#!/usr/bin/env python3
"""Regenerate the tokenizer test fixtures (run from packages/tokenizer; needs Debian's
`sentencepiece` tools and /work/shared/data, i.e. this machine only; CI reads the committed output).

  test/fixtures/golden-lines.txt        ~300 varied lines: PubMedQA contexts/questions, MedMCQA
                                        explanations (MIT, see fixtures/LICENSE-data.md) + edge cases
  test/fixtures/golden-llama-ids.txt    C++ `spm_encode --output_format=id` with the LLaMA model
  test/fixtures/tiny-bpe.model          LLaMA-style BPE model (vocab 512) trained by C++ `spm_train`
  test/fixtures/golden-tiny-ids.txt     C++ `spm_encode` ids of the same lines with the tiny model
  test/fixtures/tiny-nobf.model         BPE without byte fallback (unknowns -> one <unk>), and
  test/fixtures/tiny-unigram.model      a unigram model with the default nmt_nfkc normalizer, each with
  test/fixtures/golden-{nobf,unigram}-ids.txt   their C++ ids (they exercise the other code paths)
  test/fixtures/pubmed-sample.jsonl.zst 40 PubMedQA abstracts as Pile-format lines, two zstd frames
                                        written by the `zstd` CLI (for the `tokenize` CLI test)
"""
import json
import random
import subprocess
import sys
from pathlib import Path

DATA = Path(sys.argv[1] if len(sys.argv) > 1 else "/work/shared/data")
FIX = Path("test/fixtures")
LLAMA = Path("models/llama-tokenizer.model")
rng = random.Random(1234)

# Edge cases the product must get right: whitespace handling (LLaMA keeps runs, adds a dummy
# prefix), digits (split one per token), byte fallback (emoji, rare CJK), control-like text.
EDGE = [
    "",
    "Hello world",
    " Hello world",
    "  Hello  world  ",
    "\tTabbed\ttext\t",
    "Hello",
    "hello",
    "HELLO",
    "1234567890",
    "3.14159 mg/kg/day, p < 0.001 (n = 12,345)",
    "IL-6, TNF-α and IFN-γ levels were ↑ in COVID-19 patients (95% CI 1.2–3.4).",
    "naïve café résumé façade coöperate",
    "Größe, Maß, Straße — ÄÖÜ äöü ß",
    "Пациент жалуется на боль в груди.",
    "患者主诉胸痛三天。血压 140/90 mmHg。",
    "高血圧と糖尿病の既往歴あり。",
    "환자는 흉통을 호소합니다.",
    "المريض يعاني من ألم في الصدر",
    "रोगी को सीने में दर्द है।",
    "😀😃😄 🙂 👩‍⚕️ 🧬🦠💊",
    "Emoji at end 🧪",
    "🧪 Emoji at start",
    "Mixed: αβγδε ΑΒΓΔΕ ∑∏∫√∞ ≤≥≠ ±×÷",
    "Zero\u200bwidth\u200bspace and non\u00a0breaking\u00a0space",
    "Combining: e\u0301 a\u0308 n\u0303 (NFD) vs é ä ñ (NFC)",
    "Full-width: ＡＢＣ１２３ and half-width: ABC123",
    "Ligatures ﬁ ﬂ and roman numeral Ⅻ",
    "<s> </s> <unk> <0x0A> are plain text here",
    "▁ leading block character",
    "C(=O)Oc1ccccc1C(=O)O",
    "5'-ATGCGTACGTTAGC-3' and NM_000546.6:c.215C>G (p.Pro72Arg)",
    "https://pubmed.ncbi.nlm.nih.gov/12345678/ doi:10.1000/xyz123",
    "x" * 200,
    "a b c d e f g h i j k l m n o p q r s t u v w x y z",
    "    ",
    "!!!???...,,,;;;:::",
    "line with trailing spaces   ",
    "CamelCaseWordsAndsnake_case_words",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕞𝕒𝕥𝕙 𝒜𝒷𝒸",
    "Rare CJK: 𠀋𡈽𡌛 and Cuneiform 𒀀",
]


def one_line(s: str) -> str:
    return " ".join(s.replace("\r", " ").split("\n"))


def main() -> None:
    pqal = json.loads((DATA / "pubmedqa/ori_pqal.json").read_text())
    keys = sorted(pqal)
    rng.shuffle(keys)
    lines = list(EDGE)
    for k in keys[:90]:
        rec = pqal[k]
        lines.append(one_line(rec["QUESTION"]))
        lines.append(one_line(rec["CONTEXTS"][0]))
        lines.append(one_line(rec["LONG_ANSWER"]))
    with open(DATA / "medmcqa/dev.json") as f:
        mcqa = [json.loads(l) for l in f]
    rng.shuffle(mcqa)
    for rec in mcqa[:40]:
        if rec.get("exp"):
            lines.append(one_line(rec["exp"]))
    # Runs of whitespace inside real text: LLaMA's normalizer keeps them.
    lines += [l.replace(" ", "  ", 3) for l in lines[len(EDGE) : len(EDGE) + 5]]
    FIX.mkdir(parents=True, exist_ok=True)
    text = "\n".join(lines) + "\n"
    (FIX / "golden-lines.txt").write_text(text, encoding="utf-8")

    def spm_ids(model: Path, out: Path) -> None:
        ids = subprocess.run(
            ["spm_encode", f"--model={model}", "--output_format=id"],
            input=text.encode(), capture_output=True, check=True,
        ).stdout
        out.write_bytes(ids)
        n = ids.decode().count("\n")
        assert n == len(lines), (n, len(lines))

    spm_ids(LLAMA, FIX / "golden-llama-ids.txt")

    # Tiny LLaMA-style model: same trainer options as LLaMA's (BPE, byte fallback, digits split,
    # identity normalization, whitespace kept), vocab 512, trained on the PubMedQA contexts.
    train = FIX.parent / "tiny-train.tmp.txt"
    train.write_text("\n".join(one_line(c) for k in sorted(pqal)[:300] for c in pqal[k]["CONTEXTS"]) + "\n")
    subprocess.run(
        [
            "spm_train", f"--input={train}", f"--model_prefix={FIX / 'tiny-bpe'}",
            "--model_type=bpe", "--vocab_size=512", "--byte_fallback=true", "--split_digits=true",
            "--bos_id=1", "--eos_id=2", "--unk_id=0", "--pad_id=-1",
            "--normalization_rule_name=identity", "--add_dummy_prefix=true",
            "--remove_extra_whitespaces=false", "--allow_whitespace_only_pieces=true",
            "--character_coverage=0.9995", "--num_threads=1", "--max_sentencepiece_length=16",
            "--minloglevel=2",
        ],
        check=True, capture_output=True,
    )
    (FIX / "tiny-bpe.vocab").unlink()
    spm_ids(FIX / "tiny-bpe.model", FIX / "golden-tiny-ids.txt")

    common = [f"--input={train}", "--num_threads=1", "--minloglevel=2", "--bos_id=1", "--eos_id=2", "--unk_id=0"]
    subprocess.run(
        ["spm_train", *common, f"--model_prefix={FIX / 'tiny-nobf'}", "--model_type=bpe", "--vocab_size=300",
         "--byte_fallback=false", "--normalization_rule_name=identity", "--remove_extra_whitespaces=false",
         "--character_coverage=0.999"],
        check=True, capture_output=True,
    )
    subprocess.run(
        ["spm_train", *common, f"--model_prefix={FIX / 'tiny-unigram'}", "--model_type=unigram",
         "--vocab_size=400", "--character_coverage=0.9995"],
        check=True, capture_output=True,
    )
    train.unlink()
    for name in ("tiny-nobf", "tiny-unigram"):
        (FIX / f"{name}.vocab").unlink()
        spm_ids(FIX / f"{name}.model", FIX / f"golden-{name.removeprefix('tiny-')}-ids.txt")
    # A small real Pile-format shard: {"text", "meta": {"pile_set_name"}}, two concatenated frames.
    recs = [
        json.dumps({"text": " ".join(pqal[k]["CONTEXTS"]),
                    "meta": {"pile_set_name": "PubMed Central" if i % 3 == 0 else "PubMed Abstracts"}})
        for i, k in enumerate(sorted(pqal)[:40])
    ]
    frames = []
    for part in (recs[:25], recs[25:]):
        frames.append(subprocess.run(["zstd", "-q", "-19", "-c"], input=("\n".join(part) + "\n").encode(),
                                     capture_output=True, check=True).stdout)
    (FIX / "pubmed-sample.jsonl.zst").write_bytes(b"".join(frames))
    print(f"{len(lines)} lines")


if __name__ == "__main__":
    main()
