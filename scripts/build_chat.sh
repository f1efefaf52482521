#!/usr/bin/env bash
# Train the bundled chat adapter of a bundled model (deno task build:chat [MODEL]; default tiny-256):
#   1. conversations from the synthetic train splits   deno task synth --chat .cache/MODEL/chat.jsonl
#   2. LoRA on them (the tiny-cpu preset, loss on the assistant turns, the model's chat template)
#   3. its GGUF adapter -> data/models/MODEL/chat-lora.gguf (served as MODEL+chat by deno task serve)
# Takes a few minutes on 2 idle cores. Extra arguments go to deno task finetune (e.g. --set max_steps=50).
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=tiny-256
if [[ ${1:-} != "" && ${1:-} != -* ]]; then MODEL=$1; shift; fi
for arg in "$@"; do
  if [[ $arg == -h || $arg == --help ]]; then
    cat <<'HELP'
usage: deno task build:chat [MODEL] [FINETUNE_ARGS...]
       bash scripts/build_chat.sh [MODEL] [FINETUNE_ARGS...]

Train the chat adapter of the bundled MODEL (tiny-256 unless given) and write it to
data/models/MODEL/chat-lora.gguf, which deno task serve serves as MODEL+chat:
  1. conversations from the synthetic train splits   deno task synth --chat .cache/MODEL/chat.jsonl
  2. LoRA r 16 on them (tiny-cpu preset, loss on the assistant turns, the model's chat template)
  3. the adapter's GGUF                               data/models/MODEL/chat-lora.gguf
FINETUNE_ARGS go to deno task finetune (e.g. --set max_steps=50).

Options:
  -h, --help  print this help and exit (runs nothing else)
HELP
    exit 0
  fi
done
DENO="${DENO:-$(command -v deno || echo "npx -y deno@2.9.6")}"
[[ -d data/models/$MODEL ]] || { printf 'build:chat: data/models/%s not found (deno task build:tiny --model %s)\n' "$MODEL" "$MODEL" >&2; exit 2; }
WORK=.cache/$MODEL
RUN=chat-$MODEL
$DENO run -A lib/cli/synth.ts --seed 1234 --chat "$WORK/chat.jsonl"
$DENO run -A lib/cli/finetune.ts --preset tiny-cpu --base "data/models/$MODEL" --train "$WORK/chat.jsonl" \
  --run "$RUN" --no-resume --set lora.r=16 --set lora.alpha=32 --set max_steps=400 "$@"
cp "results/train/$RUN/lora.gguf" "data/models/$MODEL/chat-lora.gguf"
printf 'build:chat: wrote data/models/%s/chat-lora.gguf\n' "$MODEL" >&2
