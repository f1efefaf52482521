"""The trainer's tokenization rule (python/tunebook/special_tokens.py): BOS only when the model adds
one, one EOS after the completion, lm-eval's prompt/completion boundary — also on byte-level BPE,
where " word" is one token."""
import json

from tunebook.examples import encode_rows
from tunebook.special_tokens import (checkpoint_adds_bos, encode_example, split_trailing_whitespace,
                                     tokenizer_adds_bos)

# A byte-level-BPE-like encoder: a leading space belongs to the word (" Paris" is one token).
VOCAB = {"Answer": 10, ":": 11, " Paris": 12, "Paris": 13, " ": 14, "\n": 15, "Q": 16, "<bos>": 1}


def bpe(text: str) -> list[int]:
    out, i = [], 0
    while i < len(text):
        for piece in sorted(VOCAB, key=len, reverse=True):
            if text.startswith(piece, i):
                out.append(VOCAB[piece])
                i += len(piece)
                break
        else:
            raise ValueError(text[i:])
    return out


def test_trailing_whitespace_moves_to_the_completion():
    assert split_trailing_whitespace("Answer: ", "Paris") == ("Answer:", " Paris")
    assert split_trailing_whitespace("Q\n\n", "A") == ("Q", "\n\nA")
    assert split_trailing_whitespace("Q", "A") == ("Q", "A")


def test_byte_level_bpe_boundary_keeps_the_word_token_in_the_completion():
    # Without moving the space, the prompt's " " token would swallow the boundary and the
    # completion would have no tokens at all.
    ids, n_prompt = encode_example("Answer: ", "Paris", bpe, bos=None, eos=2, add_bos=False)
    assert ids == [10, 11, 12, 2]
    assert n_prompt == 2 and ids[n_prompt:] == [12, 2]


def test_bos_only_when_the_model_adds_it_and_never_twice():
    assert encode_example("Q", "\n", bpe, bos=1, eos=2, add_bos=True) == ([1, 16, 15, 2], 2)
    assert encode_example("Q", "\n", bpe, bos=1, eos=2, add_bos=False) == ([16, 15, 2], 1)
    # a prompt that already starts with BOS (its template wrote it) keeps just that one
    assert encode_example("<bos>Q", "\n", bpe, bos=1, eos=2, add_bos=True) == ([1, 16, 15, 2], 2)
    # no EOS token: nothing appended
    assert encode_example("Q", "\n", bpe, bos=None, eos=None, add_bos=True) == ([16, 15], 1)


class _Backend:
    encode = staticmethod(bpe)
    bos, eos, add_bos = 1, 2, False


def test_encode_rows_masks_the_prompt_and_drops_long_rows():
    rows = [(1, {"prompt": "Answer: ", "completion": "Paris"}), (2, {"prompt": "Q" * 40, "completion": "\n"})]
    out = encode_rows(rows, _Backend, max_len=8, completion_only=True, where="t.jsonl")
    assert out.too_long == [2]
    assert out.examples == [([10, 11, 12, 2], [-100, -100, 12, 2])]


class _HfTokenizer:
    """transformers' call protocol: tok(text, add_special_tokens=...)["input_ids"]."""

    def __init__(self, bos, prefix):
        self.bos_token_id, self.prefix = bos, prefix

    def __call__(self, text, add_special_tokens=True):
        return {"input_ids": (self.prefix if add_special_tokens else []) + [7]}


def test_hf_tokenizer_rule_is_what_it_adds():
    assert tokenizer_adds_bos(_HfTokenizer(128000, [128000]))  # Llama 3: post-processor adds BOS
    assert not tokenizer_adds_bos(_HfTokenizer(None, []))  # Qwen2: no BOS token
    assert not tokenizer_adds_bos(_HfTokenizer(50256, []))  # GPT-2: has one, does not add it


def test_checkpoint_rule_reads_add_bos_token(tmp_path):
    assert checkpoint_adds_bos(tmp_path) is True  # SentencePiece default, as llama.cpp's
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"add_bos_token": False}))
    assert checkpoint_adds_bos(tmp_path) is False
