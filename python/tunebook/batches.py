"""Examples -> batches: packing, padding, and the order examples are drawn in.

An example is (ids, labels) (examples.py). Packing (`packing: true`) concatenates examples into
rows of at most max_seq_len tokens, and each packed row carries per-token `positions` that restart
at 0 for every example and `segments` (one id per example), so that attention stays within an
example and its rotary positions are its own: a packed example's loss equals its loss alone
(tests/python/test_batches.py). The first token of each example is never a target (nothing
before it in its own example predicts it).

A batch (collate) is a dict of (B, T) tensors — input_ids, labels (IGNORE where no loss),
attention_mask (1 on real tokens, right padding) and, for packed rows, positions and segments
(padding is its own segment, -1) — plus `label_tokens`, the number of tokens its loss is over.
"""
from __future__ import annotations

import random

import torch

from .examples import IGNORE


def pack(examples: list[tuple[list[int], list[int]]], max_len: int) -> list[tuple[list[int], list[int], list[int], list[int]]]:
    """(ids, labels, positions, segments) rows of at most max_len tokens, examples in order."""
    rows: list[tuple[list[int], list[int], list[int], list[int]]] = []
    ids: list[int] = []
    labels: list[int] = []
    positions: list[int] = []
    segments: list[int] = []
    for i, l in examples:
        if ids and len(ids) + len(i) > max_len:
            rows.append((ids, labels, positions, segments))
            ids, labels, positions, segments = [], [], [], []
        seg = segments[-1] + 1 if segments else 0
        ids = ids + i
        labels = labels + [IGNORE] + l[1:]
        positions = positions + list(range(len(i)))
        segments = segments + [seg] * len(i)
    if ids:
        rows.append((ids, labels, positions, segments))
    return rows


def count_label_tokens(labels: torch.Tensor) -> int:
    """Tokens a batch's loss is over: label positions after the first (labels[:, 1:] are the targets)."""
    return int((labels[:, 1:] != IGNORE).sum())


def collate(batch: list[tuple], pad_id: int) -> dict:
    """Right-padded tensors of a list of examples (or of packed rows)."""
    width = max(len(e[0]) for e in batch)
    B = len(batch)
    ids = torch.full((B, width), pad_id, dtype=torch.long)
    labels = torch.full((B, width), IGNORE, dtype=torch.long)
    mask = torch.zeros((B, width), dtype=torch.long)
    packed = len(batch[0]) == 4
    positions = torch.zeros((B, width), dtype=torch.long) if packed else None
    segments = torch.full((B, width), -1, dtype=torch.long) if packed else None
    for k, e in enumerate(batch):
        n = len(e[0])
        ids[k, :n] = torch.tensor(e[0])
        labels[k, :n] = torch.tensor(e[1])
        mask[k, :n] = 1
        if packed:
            positions[k, :n] = torch.tensor(e[2])
            segments[k, :n] = torch.tensor(e[3])
    return {"input_ids": ids, "labels": labels, "attention_mask": mask, "positions": positions, "segments": segments,
            "label_tokens": count_label_tokens(labels), "input_tokens": int(mask.sum())}


class DataOrder:
    """Which example comes next: shuffled passes over the examples (a fresh permutation per epoch,
    from a generator seeded with the run's seed), resumable exactly from state_dict()."""

    def __init__(self, n: int, seed: int):
        self.n, self.rng, self.order = n, random.Random(seed), []

    def next(self) -> int:
        if not self.order:
            self.order = self.rng.sample(range(self.n), self.n)
        return self.order.pop()

    def state_dict(self) -> dict:
        return {"n": self.n, "rng": self.rng.getstate(), "order": list(self.order)}

    def load_state_dict(self, state: dict) -> None:
        if state["n"] != self.n:
            raise ValueError(f"the checkpoint's data order is over {state['n']} examples, this run has {self.n}")
        self.rng.setstate(state["rng"])
        self.order = list(state["order"])
