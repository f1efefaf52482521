"""The CPU trainer's byte-level BPE (python/tunebook/bpe.py) reproduces llama.cpp's own tokenizer
test vectors for Llama 3's and Qwen2's vocabularies, and reads special tokens written in the text."""
from __future__ import annotations

import pytest

from tunebook.bpe import ByteLevelBpe
from vocab_fixtures import tokenizer_json, vectors


@pytest.fixture(scope="module", params=["llama-bpe", "qwen2"])
def vocab(request):
    return request.param, ByteLevelBpe.from_json(tokenizer_json(request.param))


def test_llama_cpp_vectors_are_reproduced(vocab):
    name, tok = vocab
    cases = vectors(name)
    assert len(cases) > 40
    wrong = [(text, tok.encode(text, parse_special=False), ids) for text, ids in cases if tok.encode(text, parse_special=False) != ids]
    assert wrong == [], f"{name}: {len(wrong)} of {len(cases)} differ, e.g. {wrong[:1]}"


def test_special_tokens_in_text_are_their_ids_and_decode_round_trips(vocab):
    name, tok = vocab
    special = "<|im_start|>" if name == "qwen2" else "<|eot_id|>"
    text = f"{special}user\nHello  world{special} 123 Ünïcödé"
    ids = tok.encode(text)
    assert ids.count(tok.added[special]) == 2
    assert tok.decode(ids) == text
    assert tok.added[special] not in tok.encode(text, parse_special=False)
