"""Induction practice rows of the tiny model's pretraining (python/tunebook/pretrain.py --repeat-rows):
random token runs said twice, scored only on the second copy, mixed into the corpus windows without
changing the windows a run without them draws."""
from __future__ import annotations

import numpy as np
import torch

from tunebook.examples import IGNORE
from tunebook.pretrain import batches, repeat_row


def test_repeat_row_scores_each_second_copy_and_nothing_else():
    x, y = repeat_row(64, 50, torch.Generator().manual_seed(3), 4, 9)
    assert x.shape == y.shape == (64,)
    ids = x.tolist() + [None]
    bos = [i for i, t in enumerate(ids) if t == 1]
    assert bos[0] == 0 and all(3 <= t < 50 for t in ids[:-1] if t != 1)
    for start, end in zip(bos, bos[1:]):  # every complete document: <s> run run
        n = (end - start - 1) // 2
        assert 4 <= n <= 9 and end - start == 2 * n + 1
        run = ids[start + 1 : start + 1 + n]
        assert ids[start + 1 + n : end] == run
        # targets: ignored while the first copy is read (and at <s>), the next id during the second
        assert y[start : start + n].tolist() == [IGNORE] * n
        assert y[start + n : end - 1].tolist() == ids[start + n + 1 : end]
    assert (y != IGNORE).sum() > 0


def test_repeat_row_is_reproducible_from_its_generator():
    a = repeat_row(32, 100, torch.Generator().manual_seed(5), 2, 6)
    b = repeat_row(32, 100, torch.Generator().manual_seed(5), 2, 6)
    c = repeat_row(32, 100, torch.Generator().manual_seed(6), 2, 6)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) and not torch.equal(a[0], c[0])


def test_batches_without_practice_rows_draw_the_windows_they_always_drew():
    stream = np.arange(1000, dtype=np.int64)
    gen = torch.Generator().manual_seed(9)
    x, y = next(batches(stream, 4, 16, gen))
    starts = torch.randint(0, 1000 - 16 - 1, (4,), generator=torch.Generator().manual_seed(9))
    assert x[:, 0].tolist() == starts.tolist() and torch.equal(y, x + 1)


def test_batches_replace_about_the_asked_fraction_of_rows():
    stream = np.full(5000, 7, dtype=np.int64)  # corpus rows are all 7s; practice rows are not
    it = batches(stream, 8, 32, torch.Generator().manual_seed(2), repeat_rows=0.5, vocab=64)
    rows = [bool((x != 7).any()) for x, _ in (next(it) for _ in range(50)) for x in x]
    assert 0.35 < sum(rows) / len(rows) < 0.65
    x, y = next(batches(stream, 3, 32, torch.Generator().manual_seed(2), repeat_rows=1.0, vocab=64))
    assert (x[:, 0] == 1).all() and (y == IGNORE).any(dim=1).all()
