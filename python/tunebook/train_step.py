"""One optimizer step: forward and backward over its micro-batches, token-weighted, then the update.

The one place where the step's loss is formed (finetune.py calls it for both backends). The loss
of a step is the mean over every label token of all its micro-batches — as transformers' Trainer
and TRL normalise it (`num_items_in_batch`) — not the mean of per-micro-batch means, under which a
3-token completion would weigh as much as a 300-token one. So each micro-batch's summed token loss
is divided by the step's total label-token count before backward, and the gradient of 2 × 8
accumulated micro-batches is the gradient of one batch of 16 (tests/python/test_train_step.py).

fp16: the loss is scaled by the GradScaler before backward, unscaled before clipping; a step whose
gradients overflowed is skipped by the scaler (reported as `skipped`).

Multi-process training (issue 16) wraps this function, not the loop: pass `count_tokens` that
all-reduces the step's label-token count (so every rank divides by the global count) and
`no_sync(last)` that returns DDP's `model.no_sync()` for all but the last micro-batch; with DDP's
gradient averaging over W ranks, also pass `loss_scale=W`.
"""
from __future__ import annotations

import contextlib
from typing import Callable, ContextManager, NamedTuple

import torch


class StepResult(NamedTuple):
    loss: float  # token-weighted mean loss of the step
    label_tokens: int  # tokens the loss was over (this process's)
    input_tokens: int  # real (non-padding) tokens processed
    grad_norm: float  # before clipping
    skipped: bool  # fp16: the scaler found inf/nan gradients and skipped the update


def _no_sync(last: bool) -> ContextManager:
    return contextlib.nullcontext()


def train_step(backend, micro_batches: list[dict], optimizer: torch.optim.Optimizer, scaler, params: list[torch.Tensor],
               max_grad_norm: float = 1.0, count_tokens: Callable[[int], int] = lambda n: n,
               no_sync: Callable[[bool], ContextManager] = _no_sync, loss_scale: float = 1.0) -> StepResult:
    """Accumulate gradients over `micro_batches` (collated dicts) and take one optimizer step.

    backend.loss_sum(batch) -> (sum of the token losses as a 0-d fp32 tensor, label tokens)."""
    local = sum(b["label_tokens"] for b in micro_batches)
    total = max(1, count_tokens(local))
    loss_sum, inputs = 0.0, 0
    for k, batch in enumerate(micro_batches):
        with no_sync(k == len(micro_batches) - 1):
            summed, _ = backend.loss_sum(batch)
            scaler.scale(summed * (loss_scale / total)).backward()
        loss_sum += float(summed.detach())
        inputs += batch["input_tokens"]
    scaler.unscale_(optimizer)
    norm = float(torch.nn.utils.clip_grad_norm_(params, max_grad_norm))
    scale_before = scaler.get_scale() if scaler.is_enabled() else None
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad(set_to_none=True)
    skipped = scale_before is not None and scaler.get_scale() < scale_before
    return StepResult(loss_sum / max(1, local), local, inputs, norm, skipped)
