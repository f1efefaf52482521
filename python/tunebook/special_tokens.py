"""The trainer's side of tunebook's tokenization rule (lib/llm/tokenizer_rules.ts on the Deno side).

A training example is built as the model is evaluated and served: BOS first only when the model
adds one (llama.cpp's `add_bos`: the checkpoint's `add_bos_token`, or what its Hugging Face
tokenizer adds), the whole `prompt + completion` tokenized once, one EOS after it (so the model
learns to stop), and the prompt/completion boundary is lm-evaluation-harness's: the prompt's
trailing whitespace belongs to the completion (Python's `str.rstrip`, as lm-eval does).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, NamedTuple

Encode = Callable[[str], list[int]]


def split_trailing_whitespace(prompt: str, completion: str) -> tuple[str, str]:
    """Move the prompt's trailing whitespace to the completion (lm-eval's context/continuation split)."""
    trimmed = prompt.rstrip()
    return trimmed, prompt[len(trimmed):] + completion


class EncodedPair(NamedTuple):
    """One prompt/completion example: its token ids, how many lead tokens are the prompt's, and whether
    the prompt's own tokens were not a prefix of the whole (a token spans the boundary)."""

    ids: list[int]
    n_prompt: int
    merged: bool


def prompt_tokens(whole: list[int], head: list[int]) -> int:
    """How many tokens of `whole` belong to the prompt whose own tokens are `head`: their common prefix.

    With a byte-level BPE or SentencePiece vocabulary a token can span the boundary (the prompt's last
    characters and the completion's first): then `head` is not a prefix of `whole`, and the boundary
    falls before that token, so the loss covers it and the completion is always learned."""
    n = 0
    for a, b in zip(whole, head):
        if a != b:
            break
        n += 1
    return n


def encode_pair(prompt: str, completion: str, encode: Encode, bos: int | None, eos: int | None,
                add_bos: bool) -> EncodedPair:
    """One example, as lib/llm/tokenizer_rules.ts `trainingTokens`, with the boundary checked."""
    ctx, cont = split_trailing_whitespace(prompt, completion)
    head = encode(ctx) if ctx else []
    whole = encode(ctx + cont)
    # A prompt whose tokenizer already read a BOS token at its start gets no second one.
    first = [bos] if add_bos and bos is not None and whole[:1] != [bos] else []
    last = [eos] if eos is not None else []
    n = prompt_tokens(whole, head)
    return EncodedPair(first + whole + last, len(first) + n, n != len(head))


def encode_example(prompt: str, completion: str, encode: Encode, bos: int | None, eos: int | None,
                   add_bos: bool) -> tuple[list[int], int]:
    """(token ids, number of prompt tokens) of one example (encode_pair without the merge flag)."""
    ids, n_prompt, _ = encode_pair(prompt, completion, encode, bos, eos, add_bos)
    return ids, n_prompt


def checkpoint_adds_bos(model_dir: Path, default: bool = True) -> bool:
    """`add_bos_token` of a checkpoint's tokenizer_config.json; `default` when it says nothing.

    The default is llama.cpp's for a SentencePiece vocabulary (the torch backend's tokenizer): true.
    tunebook's GGUF export (export_gguf.py) writes the same value.
    """
    path = Path(model_dir) / "tokenizer_config.json"
    if path.is_file():
        try:
            value = json.loads(path.read_text(encoding="utf-8")).get("add_bos_token")
        except json.JSONDecodeError as e:
            raise SystemExit(f"{path}: not valid JSON ({e}); fix or remove it") from e
        if isinstance(value, bool):
            return value
    return default


def tokenizer_adds_bos(tok) -> bool:
    """Whether a Hugging Face tokenizer puts its BOS token first when asked for special tokens.

    The tokenizer's own behaviour (its post-processor or `add_bos_token`) is what llama.cpp's GGUF
    converter records as `tokenizer.ggml.add_bos_token`: Llama 3 and Gemma yes, Qwen2 and GPT-2 no.
    """
    bos = tok.bos_token_id
    if bos is None:
        return False
    with_special = tok("a")["input_ids"]
    without = tok("a", add_special_tokens=False)["input_ids"]
    return with_special[:1] == [bos] and without[:1] != [bos]
