#!/usr/bin/env bash
# Rebuild the bundled tiny model from scratch, on CPU, reproducibly (deno task build:tiny).
#   1. synthetic task splits + pretraining corpus   (lib/data/synthetic/, seed 1234)
#   2. SentencePiece tokenizer + pure-torch Llama     (python/tunebook/pretrain.py)
#   3. Hugging Face checkpoint -> data/models/tiny/   (config.json, model.safetensors, tokenizer files)
#   4. GGUF (f32) with llama.cpp's gguf-py           (data/models/tiny/tiny-f32.gguf)
#   5. model card with measured accuracy              (lib/cli/model_card.ts -> data/models/tiny/README.md)
# Takes about 35 minutes on 2 idle cores. Extra arguments go to pretrain.py (e.g. --steps 100).
set -euo pipefail
cd "$(dirname "$0")/.."
for arg in "$@"; do
  if [[ $arg == -h || $arg == --help ]]; then
    cat <<'EOF'
usage: deno task build:tiny [PRETRAIN_ARGS...]
       bash scripts/build_tiny.sh [PRETRAIN_ARGS...]

Rebuild the bundled tiny model from scratch, on CPU, reproducibly (about 35 minutes on 2 idle
cores); it rewrites the committed data/synthetic/ and data/models/tiny/:
  1. synthetic task splits + pretraining corpus   deno task synth --out data/synthetic --corpus .cache/tiny/corpus.jsonl
  2. SentencePiece tokenizer + pure-torch Llama     python/tunebook/pretrain.py
  3. Hugging Face checkpoint -> data/models/tiny/   config.json, model.safetensors, tokenizer files
  4. GGUF (f32) with llama.cpp's gguf-py           data/models/tiny/tiny-f32.gguf
  5. model card with measured accuracy              deno task card --out data/models/tiny/README.md
PRETRAIN_ARGS go to pretrain.py (e.g. --steps 100).

Options:
  -h, --help  print this help and exit (runs nothing else)
EOF
    exit 0
  fi
done
DENO="${DENO:-$(command -v deno || echo "npx -y deno@2.9.6")}"
PY="${TUNEBOOK_PYTHON:-/usr/bin/python3}"
bash scripts/setup.sh
WORK=.cache/tiny
OUT=data/models/tiny
$DENO run -A lib/cli/synth.ts --seed 1234 --out data/synthetic --corpus "$WORK/corpus.jsonl"
rm -rf "$WORK/model"
(cd python && "$PY" -m tunebook.pretrain --corpus "../$WORK/corpus.jsonl" --out "../$WORK/model" "$@") | tee "$WORK/pretrain.log"
mkdir -p "$OUT"
cp "$WORK"/model/{config.json,model.safetensors,tokenizer.model,tokenizer_config.json,special_tokens_map.json,training.json} "$OUT/"
(cd python && "$PY" -m tunebook.export_gguf "../$OUT" "../$OUT/tiny-f32.gguf" --name tunebook-tiny)
$DENO run -A lib/cli/model_card.ts --dir "$OUT" --out "$OUT/README.md"
