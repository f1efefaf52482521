"""Train the tiny model's SentencePiece tokenizer (Llama's settings) and write HF tokenizer files.

Llama's settings matter: BPE with byte fallback, digits split one per token, the identity
normalizer and no whitespace collapsing. With them node-llama-cpp's `llama` (SPM) tokenizer
reproduces SentencePiece exactly; with the default nmt_nfkc normalizer it does not.
"""
from __future__ import annotations

import io
import json
from pathlib import Path

import sentencepiece as spm

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'system' %}{{ message['content'] + '\\n\\n' }}"
    "{% elif message['role'] == 'user' %}{{ '### Instruction:\\n' + message['content'] + '\\n\\n' }}"
    "{% elif message['role'] == 'assistant' %}{{ '### Response:\\n' + message['content'] + eos_token + '\\n\\n' }}"
    "{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ '### Response:\\n' }}{% endif %}"
)


def train_tokenizer(corpus: Path, out_dir: Path, vocab_size: int, max_sentences: int = 200000, seed: int = 1234) -> spm.SentencePieceProcessor:
    """Train on the first `max_sentences` lines of the corpus; writes tokenizer.model + HF files."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(corpus, encoding="utf-8") as f:
        lines = [json.loads(line)["text"] for _, line in zip(range(max_sentences), f)]
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines),
        model_writer=buf,
        model_type="bpe",
        vocab_size=vocab_size,
        byte_fallback=True,
        split_digits=True,
        normalization_rule_name="identity",
        remove_extra_whitespaces=False,
        add_dummy_prefix=True,
        character_coverage=1.0,
        unk_id=0,
        bos_id=1,
        eos_id=2,
        pad_id=-1,
        max_sentence_length=1 << 14,
        num_threads=2,
        minloglevel=2,
    )
    (out_dir / "tokenizer.model").write_bytes(buf.getvalue())
    write_hf_tokenizer_files(out_dir)
    return spm.SentencePieceProcessor(model_proto=buf.getvalue())


def write_hf_tokenizer_files(out_dir: Path) -> None:
    """tokenizer_config.json and special_tokens_map.json for transformers' LlamaTokenizer."""
    config = {
        "tokenizer_class": "LlamaTokenizer",
        "model_max_length": 512,
        "bos_token": "<s>",
        "eos_token": "</s>",
        "unk_token": "<unk>",
        "pad_token": None,
        "add_bos_token": True,
        "add_eos_token": False,
        "legacy": True,
        "clean_up_tokenization_spaces": False,
        "sp_model_kwargs": {},
        "chat_template": CHAT_TEMPLATE,
    }
    (out_dir / "tokenizer_config.json").write_text(json.dumps(config, indent=2) + "\n")
    special = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}
    (out_dir / "special_tokens_map.json").write_text(json.dumps(special, indent=2) + "\n")


def load_tokenizer(model_dir: Path) -> spm.SentencePieceProcessor:
    path = Path(model_dir) / "tokenizer.model"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing; the checkpoint needs its SentencePiece tokenizer.model")
    return spm.SentencePieceProcessor(model_file=str(path))
