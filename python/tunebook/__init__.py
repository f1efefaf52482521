"""tunebook's Python side: a pure-torch Llama, its tokenizer, pretraining and GGUF export.

Only Debian's python3-torch, python3-numpy and python3-sentencepiece are needed here;
transformers and peft are optional (used on GPU machines when present).
"""
