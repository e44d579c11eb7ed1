#!/usr/bin/env bash
# The whole BioMed-LLaMA job on the bundled sample, small enough for a 2-core machine:
# Pile shard -> extract PubMed -> LLaMA tokens -> tiny LLaMA -> pretrain -> evaluate -> plot + report.
# Usage: bash scripts/demo.sh [OUT_DIR]   (default demo-out/; NPROC=2 runs pretraining on two ranks)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-demo-out}
NPROC=${NPROC:-1}
CLI="node apps/cli/dist/cli.js"
EVAL="node apps/eval/dist/cli.js"
if [ ! -f apps/cli/dist/cli.js ] || [ ! -f apps/eval/dist/cli.js ]; then pnpm build; fi
# Re-running replaces an earlier demo's output (marked by .biomed-llama-demo), never anything else.
if [ -e "$OUT" ] && [ -n "$(ls -A "$OUT" 2>/dev/null)" ] && [ ! -f "$OUT/.biomed-llama-demo" ]; then
  echo "demo: $OUT exists and is not the output of an earlier demo; pick another OUT_DIR" >&2
  exit 1
fi
rm -rf "$OUT"
mkdir -p "$OUT"
touch "$OUT/.biomed-llama-demo"
step() { printf '\n== %s\n' "$*" >&2; }

step "1/7 extract: keep PubMed Abstracts / PubMed Central from a Pile-format shard"
$CLI extract --input examples/pile-sample/pile-sample.jsonl.zst --out "$OUT/extract"

step "2/7 tokenize with LLaMA's SentencePiece model into a Megatron indexed dataset"
mkdir -p "$OUT/tokens"
$CLI tokenize --input "$OUT/extract" --out "$OUT/tokens/pubmed"

step "3/7 init a tiny LLaMA (Hugging Face layout, LLaMA tokenizer vocabulary)"
$CLI init --preset tiny-llama --seed 0 --out "$OUT/init"

step "4/7 pretrain (continued pretraining from the init checkpoint, $NPROC rank(s))"
if [ "$NPROC" -gt 1 ]; then
  $CLI launch --nproc-per-node "$NPROC" -- pretrain --config ${DEMO_CONFIG:-configs/tiny-cpu.json} --init-from "$OUT/init" \
    --data "$OUT/tokens/pubmed" --out "$OUT/run" --sharding grad-op --micro-batch $((8 / NPROC))
else
  $CLI pretrain --config ${DEMO_CONFIG:-configs/tiny-cpu.json} --init-from "$OUT/init" --data "$OUT/tokens/pubmed" --out "$OUT/run"
fi
CKPT=$(ls -d "$OUT"/run/checkpoints/step-* | sort | tail -1)

step "5/7 evaluate like lm-evaluation-harness on bundled subsets (PubMedQA, MedQA, MedMCQA, Pile PubMed perplexity)"
$EVAL run --model "$CKPT" --tasks pubmedqa,medqa_4options,medmcqa,pile_pubmed_abstracts --limit "${DEMO_LIMIT:-20}" \
  --output "$OUT/run/eval" --log-samples

step "6/7 loss curve"
$CLI plot "$OUT/run"

step "7/7 run report"
REPORT=$($CLI report "$OUT/run")

cat <<DONE

Artefacts
  extracted shards     $OUT/extract/ (manifest.json)
  token dataset        $OUT/tokens/pubmed.bin / .idx
  initial checkpoint   $OUT/init/
  training run         $OUT/run/ (metrics.jsonl, config.json)
  final checkpoint     $CKPT/
  eval results         $(ls "$OUT"/run/eval/results*.json 2>/dev/null | head -1)
  loss curve           $OUT/run/loss.svg, $OUT/run/loss.png
  run report           $REPORT
DONE
