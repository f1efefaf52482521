"""Rows become examples as the model is evaluated and served (python/tunebook/examples.py), on real
vocabularies: Llama 3's and Qwen2's byte-level BPE (llama.cpp's vocab files) and the tiny model's
SentencePiece. The prompt/completion boundary is lm-eval's and is checked; conversations are
rendered with the model's chat template and only assistant turns carry loss."""
from __future__ import annotations

import json

import pytest

from tunebook.examples import IGNORE, RowError, encode_messages, encode_row, encode_rows
from tunebook.text_encoder import load_text_encoder
from vocab_fixtures import write_hf_checkpoint

ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]
TINY = ROOT / "data" / "models" / "tiny"


@pytest.fixture(scope="module")
def encoders(tmp_path_factory):
    out = {}
    for shape in ("qwen2", "llama3"):
        d = write_hf_checkpoint(tmp_path_factory.mktemp(shape), shape, layers=1, hidden=16, heads=2, kv_heads=1, ff=32)
        out[shape] = load_text_encoder(d)
    out["tiny"] = load_text_encoder(TINY)
    return out


def learned(ids, labels):
    return [i for i, l in zip(ids, labels) if l != IGNORE]


@pytest.mark.parametrize("shape", ["qwen2", "llama3"])
def test_a_prompt_ending_in_a_space_learns_the_answer_not_just_eos(encoders, shape):
    enc = encoders[shape]
    row = {"prompt": "Question: What is the capital of France?\nAnswer: ", "completion": "Paris"}
    ids, labels, merged = encode_row(row, enc, completion_only=True)
    # byte-level BPE: " Paris" is one token; lm-eval moves the space to the completion first
    assert learned(ids, labels) == enc.encode(" Paris") + [enc.eos]
    assert not merged
    # the cut this replaces: prompt tokens counted from the prompt as written ("Answer: " ends in a
    # space token), which masks " Paris"'s position and leaves only the last tokens
    naive_prompt = len(enc.encode(row["prompt"])) + (1 if enc.add_bos else 0)
    whole = ([enc.bos] if enc.add_bos else []) + enc.encode(row["prompt"] + row["completion"]) + [enc.eos]
    assert whole[naive_prompt:] != enc.encode(" Paris") + [enc.eos]
    assert ids[: 1] == ([enc.bos] if shape == "llama3" else ids[:1])
    assert (ids[0] == enc.bos) == (shape == "llama3"), "BOS exactly when the model adds it"
    assert ids[-1] == enc.eos


@pytest.mark.parametrize("shape", ["qwen2", "llama3", "tiny"])
def test_a_token_spanning_the_boundary_goes_to_the_completion(encoders, shape):
    enc = encoders[shape]
    # the prompt's last token (" wor", "▁P") is not a token of the whole (" world", "▁Paris" are)
    row = {"prompt": "Say it: P", "completion": "aris"} if shape == "tiny" else {"prompt": "Say it: Hello wor", "completion": "ld"}
    head, whole = enc.encode(row["prompt"]), enc.encode(row["prompt"] + row["completion"])
    assert whole[: len(head)] != head
    shared = next(i for i, (a, b) in enumerate(zip(head, whole)) if a != b)
    ids, labels, merged = encode_row(row, enc, completion_only=True)
    assert merged
    # the loss starts at the first token that differs, so " world" (which holds "ld") is learned
    assert learned(ids, labels) == whole[shared:] + [enc.eos]


def test_conversation_loss_is_on_assistant_turns_only_qwen2(encoders):
    enc = encoders["qwen2"]
    msgs = [{"role": "user", "content": "What is 2+2?"}, {"role": "assistant", "content": "4"},
            {"role": "user", "content": "And 3+3?"}, {"role": "assistant", "content": "6"}]
    ids, labels = encode_messages(msgs, enc, completion_only=True)
    im_end, nl = enc.encode("<|im_end|>"), enc.encode("\n")
    assert ids == enc.encode(enc.render_chat(msgs)), "the rendered conversation, tokenized once, no BOS"
    assert learned(ids, labels) == enc.encode("4") + im_end + nl + enc.encode("6") + im_end + nl
    assert ids[-2] == enc.eos  # <|im_end|> is the instruct model's EOS: nothing appended


def test_conversation_loss_is_on_assistant_turns_only_llama3(encoders):
    enc = encoders["llama3"]
    msgs = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Capital of France?"},
            {"role": "assistant", "content": "Paris"}]
    ids, labels = encode_messages(msgs, enc, completion_only=True)
    assert ids.count(enc.bos) == 1 and ids[0] == enc.bos, "the template's BOS, not a second one"
    eot = enc.encode("<|eot_id|>")
    assert learned(ids, labels) == enc.encode("Paris") + eot
    # the generation prompt ("...assistant<|end_header_id|>\n\n") is context, as when served
    before = enc.encode(enc.render_chat(msgs[:2], add_generation_prompt=True))
    assert ids[: len(before)] == before and all(l == IGNORE for l in labels[: len(before)])
    whole, _ = encode_messages(msgs, enc, completion_only=False)
    assert whole == ids


def test_conversation_on_the_tiny_model_learns_its_eos(encoders):
    enc = encoders["tiny"]
    msgs = [{"role": "user", "content": "What is 7 plus 5?"}, {"role": "assistant", "content": "12"}]
    ids, labels = encode_messages(msgs, enc, completion_only=True)
    got = learned(ids, labels)
    assert ids[0] == enc.bos and got.count(enc.eos) == 1, "the template writes </s>: read as the EOS token"
    assert got[-len(enc.encode("\n\n")) - 1] == enc.eos


def test_row_errors_name_the_line_and_the_fix(encoders, tmp_path):
    enc = encoders["qwen2"]
    rows = [(3, {"messages": [{"role": "user", "content": "hi"}]})]
    with pytest.raises(RowError, match=r'^t\.jsonl:3: messages: no turn with role "assistant"'):
        encode_rows(rows, enc, 64, True, "t.jsonl")
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"bos_token": "<s>", "eos_token": "</s>"}))
    (tmp_path / "tokenizer.model").write_bytes((TINY / "tokenizer.model").read_bytes())
    plain = load_text_encoder(tmp_path)
    with pytest.raises(RowError, match=r"t\.jsonl:7: .*has no chat template"):
        encode_rows([(7, {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]})],
                    plain, 64, True, "t.jsonl")


def test_too_long_rows_are_counted_by_line(encoders):
    enc = encoders["tiny"]
    rows = [(1, {"prompt": "Q:", "completion": " a"}), (2, {"prompt": "word " * 80, "completion": " b"}),
            (4, {"prompt": "Q:", "completion": " c"})]
    out = encode_rows(rows, enc, 32, True, "v.jsonl")
    assert out.too_long == [2] and len(out.examples) == 2
