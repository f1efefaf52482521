"""Packing keeps examples apart (python/tunebook/batches.py): in a packed row each example sees only
itself, at positions restarting from 0, so its logits and loss are those it has alone."""
from __future__ import annotations

import torch

from tunebook.backend_torch import token_loss_sum
from tunebook.batches import collate, pack
from tunebook.examples import IGNORE
from tunebook.model import Llama, LlamaConfig


def model():
    torch.manual_seed(0)
    return Llama(LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                             num_attention_heads=4, num_key_value_heads=2)).eval()


def examples():
    g = torch.Generator().manual_seed(1)
    out = []
    for n, n_prompt in ((7, 3), (5, 2), (9, 4), (4, 1)):
        ids = torch.randint(0, 64, (n,), generator=g).tolist()
        out.append((ids, [IGNORE] * n_prompt + ids[n_prompt:]))
    return out


def test_pack_restarts_positions_and_masks_each_examples_first_token():
    ex = examples()
    rows = pack(ex, max_len=16)
    assert [len(r[0]) for r in rows] == [12, 13]
    ids, labels, positions, segments = rows[0]
    assert positions == list(range(7)) + list(range(5))
    assert segments == [0] * 7 + [1] * 5
    assert labels[7] == IGNORE, "nothing in the second example predicts its first token"


def test_a_packed_example_has_the_logits_and_loss_it_has_alone():
    m, ex = model(), examples()
    batch = collate(pack(ex, max_len=40), pad_id=0)
    assert batch["input_ids"].shape == (1, 25)
    with torch.no_grad():
        packed = m(batch["input_ids"], batch["positions"], batch["segments"])[0]
        start = 0
        for ids, _ in ex:
            alone = m(torch.tensor([ids]))[0]
            assert torch.allclose(packed[start : start + len(ids)], alone, atol=1e-5)
            start += len(ids)
        total, n = token_loss_sum(packed[None], batch["labels"])
        alone_sum = sum(float(token_loss_sum(m(torch.tensor([i])), torch.tensor([l]))[0]) for i, l in ex)
    assert n == sum(sum(1 for x in l[1:] if x != IGNORE) for _, l in ex)
    assert abs(float(total) - alone_sum) < 1e-4


def test_without_segments_examples_would_see_each_other():
    """The test above can fail: plain concatenation changes the later examples' logits."""
    m, ex = model(), examples()
    ids = torch.tensor([sum((i for i, _ in ex), [])])
    with torch.no_grad():
        mixed = m(ids)[0, 7:12]
        alone = m(torch.tensor([ex[1][0]]))[0]
    assert not torch.allclose(mixed, alone, atol=1e-3)
