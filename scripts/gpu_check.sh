#!/usr/bin/env bash
# The checks that need a GPU machine with transformers + peft (run there, not in CI):
#   1. the bundled checkpoint in transformers' LlamaForCausalLM: tokenization + logits vs pure torch,
#      and llama.cpp's own convert_hf_to_gguf.py vs tunebook's GGUF export   -> $OUT/hf_check.json
#   2. the trainer's `hf` backend (transformers + peft) with the tiny-cpu settings on synth_qa
#      -> $OUT/hf_adapter/ (PEFT) + $OUT/hf_events.jsonl; llama.cpp's convert_lora_to_gguf.py on it
# Usage: OUT=/some/dir bash scripts/gpu_check.sh TRAIN_ROWS.jsonl VAL_ROWS.jsonl
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:?set OUT}"
LLAMA_CPP="${TUNEBOOK_LLAMA_CPP:-.cache/llama.cpp}"
cd python
python3 -m tunebook.check_hf ../data/models/tiny --llama-cpp "../$LLAMA_CPP" --ours ../data/models/tiny/tiny-f32.gguf --out "$OUT/hf_check.json" >/dev/null
cat > /tmp/hf_config.json <<JSON
{"backend": "hf", "base_model": "../data/models/tiny", "train_file": "$(realpath "../$1")", "val_file": "$(realpath "../$2")",
 "output_dir": "/tmp/hf_run", "lora": {"r": 8, "alpha": 16, "dropout": 0.0,
 "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]},
 "lr": 0.003, "schedule": "cosine", "warmup_steps": 10, "max_steps": 200, "epochs": 1, "batch_size": 16, "grad_accum": 1,
 "max_seq_len": 256, "packing": false, "completion_only_loss": true, "seed": 1234, "eval_every": 50, "save_every": 200,
 "max_checkpoints": 1, "precision": "fp32", "load_in_4bit": false, "gradient_checkpointing": false, "threads": 2, "resume": false}
JSON
python3 -m tunebook.finetune /tmp/hf_config.json > "$OUT/hf_events.jsonl"
mkdir -p "$OUT/hf_adapter" && cp /tmp/hf_run/adapter/adapter_config.json /tmp/hf_run/adapter/adapter_model.safetensors "$OUT/hf_adapter/"
PYTHONPATH="../$LLAMA_CPP/gguf-py" python3 "../$LLAMA_CPP/convert_lora_to_gguf.py" /tmp/hf_run/adapter --base ../data/models/tiny \
  --outtype f32 --outfile "$OUT/hf_lora_official.gguf" > "$OUT/convert_lora.log" 2>&1 || echo "convert_lora_to_gguf failed (see convert_lora.log)"
tail -2 "$OUT/hf_events.jsonl"
