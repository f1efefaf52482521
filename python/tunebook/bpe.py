"""Byte-level BPE (GPT-2 style: Llama 3, Qwen2, Mistral-Nemo …) from a Hugging Face `tokenizer.json`,
in plain Python, for the CPU trainer where the `tokenizers` package is not installed.

    from tunebook.bpe import ByteLevelBpe
    tok = ByteLevelBpe.from_file("model/tokenizer.json")
    tok.encode("Answer: Paris")      # token ids; added/special tokens in the text are matched first

What it does, in the order the `tokenizers` library does it: split the text on the added tokens
(`<|im_start|>`, `<|eot_id|>` …, each one id); NFC-normalise the rest when the tokenizer says so;
split it with the pre-tokenizer's regular expression; map each piece's UTF-8 bytes to GPT-2's
printable characters; merge by rank (or take the whole piece when the vocabulary has it and the
model sets `ignore_merges`, as Llama 3 does). tests/python/test_bpe.py checks it against
llama.cpp's own tokenizer vectors (models/ggml-vocab-{llama-bpe,qwen2}.gguf.inp/.out).
Needs the `regex` module (Debian: python3-regex) for `\\p{L}` classes.
"""
from __future__ import annotations

import json
import unicodedata
from functools import lru_cache
from pathlib import Path

# The pre-tokenizer expressions of the vocabularies llama.cpp names (tokenizer.ggml.pre), as their
# tokenizer.json files write them.
PRE_TOKENIZERS = {
    "llama-bpe": r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
    "qwen2": r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
    "gpt-2": r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+",
}


@lru_cache(maxsize=1)
def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's map from each byte to a printable character (so a byte string is a str)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def pre_tokenizer_name(pattern: str) -> str | None:
    """llama.cpp's name for a pre-tokenizer expression (tokenizer.ggml.pre), or None when unknown."""
    for name, known in PRE_TOKENIZERS.items():
        if pattern == known:
            return name
    return None


def _split_pattern(tokenizer: dict, where: str) -> str:
    """The regular expression of a tokenizer.json's ByteLevel pre-tokenizer chain."""
    pre = tokenizer.get("pre_tokenizer") or {}
    chain = pre.get("pretokenizers", [pre]) if pre.get("type") == "Sequence" else [pre]
    for step in chain:
        if step.get("type") == "Split" and "Regex" in step.get("pattern", {}):
            return step["pattern"]["Regex"]
    if any(step.get("type") == "ByteLevel" and step.get("use_regex", True) for step in chain):
        return PRE_TOKENIZERS["gpt-2"]
    raise ValueError(f"{where}: pre_tokenizer is not a byte-level BPE one (no Split regex or ByteLevel step)")


class ByteLevelBpe:
    """A byte-level BPE tokenizer: vocabulary, merges, pre-tokenizer expression and added tokens."""

    def __init__(self, vocab: dict[str, int], merges: list[str] | list[list[str]], pattern: str,
                 added: dict[str, int] | None = None, ignore_merges: bool = False, nfc: bool = False):
        import regex  # Debian: python3-regex (\p{L} classes, which `re` lacks)

        self.vocab = vocab
        self.ranks = {tuple(m.split(" ", 1)) if isinstance(m, str) else tuple(m): i for i, m in enumerate(merges)}
        self.pattern = regex.compile(pattern)
        self.added = dict(added or {})
        self.ignore_merges, self.nfc = ignore_merges, nfc
        self.byte_map = bytes_to_unicode()
        self.id_to_token = {i: t for t, i in vocab.items()} | {i: t for t, i in self.added.items()}
        # Longest added token first, so "<|im_start|>" wins over a prefix of it.
        self._added_re = regex.compile("|".join(regex.escape(t) for t in sorted(self.added, key=len, reverse=True))) if self.added else None
        self._cache: dict[str, list[int]] = {}

    @classmethod
    def from_json(cls, tokenizer: dict, where: str = "tokenizer.json") -> "ByteLevelBpe":
        model = tokenizer.get("model") or {}
        if model.get("type") != "BPE":
            raise ValueError(f"{where}: model.type is {model.get('type')!r}; only byte-level BPE is read here")
        normalizer = tokenizer.get("normalizer") or {}
        steps = normalizer.get("normalizers", [normalizer]) if normalizer.get("type") == "Sequence" else [normalizer]
        nfc = any(s.get("type") == "NFC" for s in steps)
        added = {t["content"]: t["id"] for t in tokenizer.get("added_tokens", [])}
        return cls(model["vocab"], model.get("merges", []), _split_pattern(tokenizer, where), added,
                   bool(model.get("ignore_merges", False)), nfc)

    @classmethod
    def from_file(cls, path: str | Path) -> "ByteLevelBpe":
        p = Path(path)
        return cls.from_json(json.loads(p.read_text(encoding="utf-8")), str(p))

    def _bpe(self, piece: str) -> list[int]:
        hit = self._cache.get(piece)
        if hit is not None:
            return hit
        if self.ignore_merges and piece in self.vocab:
            out = [self.vocab[piece]]
        else:
            symbols = list(piece)
            while len(symbols) > 1:
                best, at = None, -1
                for i in range(len(symbols) - 1):
                    rank = self.ranks.get((symbols[i], symbols[i + 1]))
                    if rank is not None and (best is None or rank < best):
                        best, at = rank, i
                if best is None:
                    break
                pair = (symbols[at], symbols[at + 1])
                out_syms, i = [], 0
                while i < len(symbols):  # every occurrence of the pair, left to right
                    if i < len(symbols) - 1 and (symbols[i], symbols[i + 1]) == pair:
                        out_syms.append(pair[0] + pair[1])
                        i += 2
                    else:
                        out_syms.append(symbols[i])
                        i += 1
                symbols = out_syms
            missing = [s for s in symbols if s not in self.vocab]
            if missing:
                raise ValueError(f"byte-level BPE: {missing[0]!r} is not in the vocabulary (a broken tokenizer.json?)")
            out = [self.vocab[s] for s in symbols]
        self._cache[piece] = out
        return out

    def _encode_text(self, text: str) -> list[int]:
        if self.nfc:
            text = unicodedata.normalize("NFC", text)
        out: list[int] = []
        for piece in self.pattern.findall(text):
            out += self._bpe("".join(self.byte_map[b] for b in piece.encode("utf-8")))
        return out

    def encode(self, text: str, parse_special: bool = True) -> list[int]:
        """Token ids of `text`; with parse_special, added tokens written in it become their ids."""
        if not parse_special or self._added_re is None:
            return self._encode_text(text)
        out, at = [], 0
        for m in self._added_re.finditer(text):
            if m.start() > at:
                out += self._encode_text(text[at:m.start()])
            out.append(self.added[m.group(0)])
            at = m.end()
        if at < len(text):
            out += self._encode_text(text[at:])
        return out

    def decode(self, ids: list[int]) -> str:
        inverse = {c: b for b, c in self.byte_map.items()}
        parts: list[str] = []
        buf = bytearray()
        for i in ids:
            tok = self.id_to_token[i]
            if tok in self.added:
                parts.append(buf.decode("utf-8", errors="replace"))
                buf = bytearray()
                parts.append(tok)
            else:
                buf += bytes(inverse[c] for c in tok)
        parts.append(buf.decode("utf-8", errors="replace"))
        return "".join(parts)
