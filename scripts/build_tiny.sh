#!/usr/bin/env bash
# Rebuild the bundled tiny model from scratch, on CPU, reproducibly (deno task build:tiny).
#   1. synthetic task splits + pretraining corpus   (lib/data/synthetic.ts, seed 1234)
#   2. SentencePiece tokenizer + pure-torch Llama     (python/tunebook/pretrain.py)
#   3. Hugging Face checkpoint -> data/models/tiny/   (config.json, model.safetensors, tokenizer files)
#   4. GGUF (f32) with llama.cpp's gguf-py           (data/models/tiny/tiny-f32.gguf)
#   5. model card with measured accuracy              (lib/cli/model_card.ts -> data/models/tiny/README.md)
# Takes about 35 minutes on 2 idle cores. Extra arguments go to pretrain.py (e.g. --steps 100).
set -euo pipefail
cd "$(dirname "$0")/.."
DENO="${DENO:-$(command -v deno || echo "npx -y deno@2.9.6")}"
PY="${TUNEBOOK_PYTHON:-/usr/bin/python3}"
bash scripts/setup.sh
WORK=.cache/tiny
OUT=data/models/tiny
$DENO run -A lib/cli/synth.ts --seed 1234 --corpus "$WORK/corpus.jsonl"
rm -rf "$WORK/model"
(cd python && "$PY" -m tunebook.pretrain --corpus "../$WORK/corpus.jsonl" --out "../$WORK/model" "$@") | tee "$WORK/pretrain.log"
mkdir -p "$OUT"
cp "$WORK"/model/{config.json,model.safetensors,tokenizer.model,tokenizer_config.json,special_tokens_map.json,training.json} "$OUT/"
(cd python && "$PY" -m tunebook.export_gguf "../$OUT" "../$OUT/tiny-f32.gguf" --name tunebook-tiny)
$DENO run -A lib/cli/model_card.ts
