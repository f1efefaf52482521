"""The torch backend's tokenizer for a Hugging Face checkpoint folder, as transformers would read it.

    from tunebook.text_encoder import load_text_encoder
    enc = load_text_encoder(model_dir)
    enc.encode("<|im_start|>user\nhi")   # ids; the vocabulary's special-token texts become their ids
    enc.bos, enc.eos, enc.add_bos, enc.stop_ids, enc.render_chat(messages, add_generation_prompt=True)

A SentencePiece `tokenizer.model` (Llama 2, Mistral, the bundled tiny model) or a byte-level BPE
`tokenizer.json` (Llama 3, Qwen2; bpe.py). Special tokens (`tokenizer_config.json`'s bos/eos/pad,
the vocabulary's control and added tokens) are matched in the text first, as transformers'
tokenizers do with `add_special_tokens=False`; BOS and EOS are never added here — the example
builder (examples.py) adds them by the model's rule (`add_bos`, special_tokens.py). `stop_ids`
are the tokens generation stops at (EOS and generation_config.json's `eos_token_id`s, e.g.
Llama 3 Instruct's `<|eot_id|>`). The `hf` backend wraps transformers' own tokenizer in the same
interface (finetune.py).
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Protocol

from .chat_template import ChatTemplate, read_chat_template
from .special_tokens import checkpoint_adds_bos


class TextEncoder(Protocol):
    """What the example builder needs of a tokenizer."""

    bos: int | None
    eos: int | None
    pad: int
    add_bos: bool
    stop_ids: set[int]
    chat_template: str | None

    def encode(self, text: str) -> list[int]: ...

    def render_chat(self, messages: list[dict], add_generation_prompt: bool = False) -> str: ...


class NoChatTemplate(ValueError):
    """The model has no chat template, and a conversation was to be rendered."""


def _token_text(value) -> str | None:
    if isinstance(value, dict):
        return value.get("content")
    return value if isinstance(value, str) else None


def _read_json(path: Path) -> dict:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON ({e}); fix or remove it") from e
    return data if isinstance(data, dict) else {}


def generation_eos_ids(model_dir: Path) -> list[int]:
    """generation_config.json's eos_token_id (one id or a list), [] without one."""
    value = _read_json(Path(model_dir) / "generation_config.json").get("eos_token_id")
    if value is None:
        return []
    return [int(v) for v in value] if isinstance(value, list) else [int(value)]


class _Base:
    """What both vocabularies share: special-token texts, the chat template, the stop tokens."""

    def _setup(self, model_dir: Path, ids_of: dict[str, int], default_bos: int | None, default_eos: int | None,
               adds_bos_default: bool) -> None:
        cfg = _read_json(model_dir / "tokenizer_config.json")
        texts = {k: _token_text(cfg.get(k)) for k in ("bos_token", "eos_token", "pad_token", "unk_token")}
        self.special_texts = {k: v for k, v in texts.items() if v}

        def resolve(key: str, default: int | None) -> int | None:
            text = texts.get(key)
            if text and text in ids_of:
                return ids_of[text]
            return default

        self.bos = resolve("bos_token", default_bos)
        self.eos = resolve("eos_token", default_eos)
        pad = resolve("pad_token", None)
        self.pad = pad if pad is not None else (self.eos if self.eos is not None else 0)
        self.add_bos = checkpoint_adds_bos(model_dir, default=adds_bos_default) and self.bos is not None
        self.stop_ids = {i for i in [self.eos, *generation_eos_ids(model_dir)] if i is not None}
        self.chat_template = read_chat_template(model_dir)
        self._template: ChatTemplate | None = None
        self.where = str(model_dir)

    def render_chat(self, messages: list[dict], add_generation_prompt: bool = False) -> str:
        if self.chat_template is None:
            raise NoChatTemplate(f"{self.where}: the model has no chat template (tokenizer_config.json chat_template, "
                                 "or chat_template.jinja)")
        if self._template is None:
            self._template = ChatTemplate(self.chat_template, **self.special_texts)
        return self._template.render(messages, add_generation_prompt)


class SentencePieceEncoder(_Base):
    """tokenizer.model, split on its control/unknown pieces' texts first (as llama.cpp and transformers'
    legacy Llama tokenizer: each text piece gets SentencePiece's own space prefix)."""

    def __init__(self, model_dir: Path):
        import sentencepiece as spm

        self.sp = spm.SentencePieceProcessor(model_file=str(model_dir / "tokenizer.model"))
        sp = self.sp
        specials = {sp.id_to_piece(i): i for i in range(sp.get_piece_size()) if sp.is_control(i) or sp.is_unknown(i)}
        self._setup(model_dir, {sp.id_to_piece(i): i for i in range(sp.get_piece_size())},
                    sp.bos_id() if sp.bos_id() >= 0 else None, sp.eos_id() if sp.eos_id() >= 0 else None, True)
        self._specials = specials
        self._split = re.compile("|".join(re.escape(t) for t in sorted(specials, key=len, reverse=True))) if specials else None

    def encode(self, text: str) -> list[int]:
        if self._split is None:
            return self.sp.encode(text)
        out, at = [], 0
        for m in self._split.finditer(text):
            if m.start() > at:
                out += self.sp.encode(text[at:m.start()])
            out.append(self._specials[m.group(0)])
            at = m.end()
        if at < len(text):
            out += self.sp.encode(text[at:])
        return out


class BpeEncoder(_Base):
    """tokenizer.json (byte-level BPE, bpe.py)."""

    def __init__(self, model_dir: Path):
        from .bpe import ByteLevelBpe

        data = json.loads((model_dir / "tokenizer.json").read_text(encoding="utf-8"))
        self.bpe = ByteLevelBpe.from_json(data, str(model_dir / "tokenizer.json"))
        ids_of = {**self.bpe.vocab, **self.bpe.added}
        # A post-processor that puts a special token first (Llama 3's TemplateProcessing) adds BOS.
        post = data.get("post_processor") or {}
        steps = post.get("processors", [post]) if post.get("type") == "Sequence" else [post]
        first = [s.get("single", [{}])[0] for s in steps if s.get("type") == "TemplateProcessing" and s.get("single")]
        adds = bool(first and "SpecialToken" in first[0])
        self._setup(model_dir, ids_of, None, None, adds)

    def encode(self, text: str) -> list[int]:
        return self.bpe.encode(text)


def load_text_encoder(model_dir: str | Path) -> TextEncoder:
    """The checkpoint's tokenizer: tokenizer.model (SentencePiece) when it has one, else tokenizer.json."""
    d = Path(model_dir)
    if (d / "tokenizer.model").is_file():
        return SentencePieceEncoder(d)
    if (d / "tokenizer.json").is_file():
        return BpeEncoder(d)
    raise FileNotFoundError(f"{d}: no tokenizer.model (SentencePiece) or tokenizer.json (byte-level BPE); "
                            "copy the base model's tokenizer files into the folder")
