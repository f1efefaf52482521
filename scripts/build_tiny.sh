#!/usr/bin/env bash
# Rebuild the bundled tiny model from scratch, on CPU, reproducibly (deno task build:tiny).
#   1. synthetic task splits + pretraining corpus   (lib/data/synthetic/, seed 1234)
#   2. SentencePiece tokenizer + pure-torch Llama     (python/tunebook/pretrain.py)
#   3. Hugging Face checkpoint -> data/models/tiny/   (config.json, model.safetensors, tokenizer files)
#   4. GGUF (f32) with llama.cpp's gguf-py           (data/models/tiny/tiny-f32.gguf)
#   5. model card with measured accuracy              (lib/cli/model_card.ts -> data/models/tiny/README.md)
# Takes about 35 minutes on 2 idle cores. Extra arguments go to pretrain.py (e.g. --steps 100).
# --model tiny-256 builds the 256-wide model (data/models/tiny-256) instead: every family, recall
# drills, hidden 256, tied embeddings; the committed task splits are left as they are.
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=tiny
ARGS=()
while (($#)); do
  case $1 in
    --model) MODEL=${2:?--model needs tiny or tiny-256}; shift 2 ;;
    --model=*) MODEL=${1#--model=}; shift ;;
    *) ARGS+=("$1"); shift ;;
  esac
done
for arg in "${ARGS[@]}"; do
  if [[ $arg == -h || $arg == --help ]]; then
    cat <<'EOF'
usage: deno task build:tiny [--model tiny|tiny-256] [PRETRAIN_ARGS...]
       bash scripts/build_tiny.sh [--model tiny|tiny-256] [PRETRAIN_ARGS...]

Rebuild the bundled tiny model from scratch, on CPU, reproducibly (about 35 minutes on 2 idle
cores); it rewrites the committed data/synthetic/ and data/models/tiny/:
  1. synthetic task splits + pretraining corpus   deno task synth --out data/synthetic --corpus .cache/tiny/corpus.jsonl
  2. SentencePiece tokenizer + pure-torch Llama     python/tunebook/pretrain.py
  3. Hugging Face checkpoint -> data/models/tiny/   config.json, model.safetensors, tokenizer files
  4. GGUF (f32) with llama.cpp's gguf-py           data/models/tiny/tiny-f32.gguf
  5. model card with measured accuracy              deno task card --out data/models/tiny/README.md
PRETRAIN_ARGS go to pretrain.py (e.g. --steps 100).

--model tiny-256 builds data/models/tiny-256 instead (about 90 minutes on 2 idle cores): the
corpus of every family with recall drills (deno task synth --model tiny-256), hidden 256, 4 layers,
SwiGLU 768, tied embeddings, so k-quants apply to every tensor; then a second phase on denser drills
and repeated sentences (deno task synth --model tiny-256-copy), and a third on both corpora with
half of each batch induction practice (pretrain.py --repeat-rows 0.5: random token runs said twice)
so the model copies from its context; the committed task splits are not rewritten. Then its chat adapter (deno task build:chat,
data/models/tiny-256/chat-lora.gguf).

Options:
  --model M   tiny (default) or tiny-256
  -h, --help  print this help and exit (runs nothing else)
EOF
    exit 0
  fi
done
DENO="${DENO:-$(command -v deno || echo "npx -y deno@2.9.6")}"
PY="${TUNEBOOK_PYTHON:-/usr/bin/python3}"
case $MODEL in
  tiny) SYNTH=(--out data/synthetic); PRE=(); NAME=tunebook-tiny ;;
  tiny-256)
    SYNTH=(--model tiny-256)
    PRE=(--hidden-size 256 --intermediate-size 768 --layers 4 --heads 4 --kv-heads 2 --tie-embeddings
      --steps 2000 --batch 16 --lr 2e-3 --eval-every 200 --command "deno task build:tiny --model tiny-256")
    NAME=tunebook-tiny-256 ;;
  *) printf 'build:tiny: unknown --model %s (use tiny or tiny-256)\n' "$MODEL" >&2; exit 2 ;;
esac
bash scripts/setup.sh
WORK=.cache/$MODEL
OUT=data/models/$MODEL
mkdir -p "$WORK"
$DENO run -A lib/cli/synth.ts --seed 1234 "${SYNTH[@]}" --corpus "$WORK/corpus.jsonl"
rm -rf "$WORK/model"
(cd python && "$PY" -m tunebook.pretrain --corpus "../$WORK/corpus.jsonl" --out "../$WORK/model" "${PRE[@]}" "${ARGS[@]}") | tee "$WORK/pretrain.log"
if [[ $MODEL == tiny-256 ]]; then
  # Phase 2: induction practice (denser recall drills, sentences and lists repeated word for
  # word), continuing from phase 1 with its tokenizer; the first phase alone did not learn to copy.
  $DENO run -A lib/cli/synth.ts --seed 1234 --model tiny-256-copy --corpus "$WORK/corpus-copy.jsonl"
  rm -rf "$WORK/phase1" && mv "$WORK/model" "$WORK/phase1"
  (cd python && "$PY" -m tunebook.pretrain --corpus "../$WORK/corpus-copy.jsonl" --out "../$WORK/model" \
    --init "../$WORK/phase1" --tokenizer "../$WORK/phase1/tokenizer.model" --steps 800 --batch 16 --lr 1e-3 \
    --warmup 30 --eval-every 100 --command "deno task build:tiny --model tiny-256" "${ARGS[@]}") | tee "$WORK/pretrain-copy.log"
  # Phase 3: both corpora (phase 1's keeps the facts recalled) with half of every batch's rows
  # induction practice (random token runs said twice, loss on the second copy only); phase 2's
  # repeated sentences did not make copying emerge, this does (results/diagnostics/s2_entailment.md).
  rm -rf "$WORK/phase2" && mv "$WORK/model" "$WORK/phase2"
  cat "$WORK/corpus.jsonl" "$WORK/corpus-copy.jsonl" > "$WORK/corpus-induction.jsonl"
  (cd python && "$PY" -m tunebook.pretrain --corpus "../$WORK/corpus-induction.jsonl" --out "../$WORK/model" \
    --init "../$WORK/phase2" --tokenizer "../$WORK/phase2/tokenizer.model" --steps 800 --batch 16 --lr 2e-3 \
    --warmup 30 --eval-every 50 --repeat-rows 0.5 --command "deno task build:tiny --model tiny-256" "${ARGS[@]}") \
    | tee "$WORK/pretrain-induction.log"
fi
mkdir -p "$OUT"
cp "$WORK"/model/{config.json,model.safetensors,tokenizer.model,tokenizer_config.json,special_tokens_map.json,training.json} "$OUT/"
(cd python && "$PY" -m tunebook.export_gguf "../$OUT" "../$OUT/$MODEL-f32.gguf" --name "$NAME")
# tiny-256 ships a chat adapter beside it (deno task serve serves it as tiny-256+chat).
if [[ $MODEL == tiny-256 ]]; then bash scripts/build_chat.sh tiny-256; fi
$DENO run -A lib/cli/model_card.ts --dir "$OUT" --out "$OUT/README.md"
