"""One optimizer step (python/tunebook/train_step.py): the loss is token-weighted over every
micro-batch of the step, so accumulating 2 micro-batches of 8 gives the gradient of one batch of 16;
fp16's GradScaler scales, unscales before clipping, and a step it skips is reported."""
from __future__ import annotations

import random

import pytest
import torch

from tunebook.backend_torch import TorchBackend
from tunebook.batches import collate
from tunebook.examples import encode_rows
from tunebook.train_step import train_step
from finetune_runs import tiny_config


class NoScaler:
    def scale(self, x):
        return x

    def unscale_(self, opt):
        pass

    def step(self, opt):
        pass  # gradients are inspected, not applied

    def update(self):
        pass

    def is_enabled(self):
        return False


@pytest.fixture(scope="module")
def backend_and_examples(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("accum")
    cfg = tiny_config(tmp, **{"lora.dropout": 0.0})
    backend = TorchBackend(cfg)
    # float64, so that what is compared is the normalisation, not fp32's summation order (in fp32 the
    # two gradients differ by a few 1e-6 where the micro-batches pad to different widths)
    backend.model.double()
    rows = [(i, r) for i, r in enumerate(__import__("json").loads(l) for l in open(cfg["train_file"]))]
    # completions of very different lengths, so that per-micro-batch means weigh tokens unequally
    rng = random.Random(0)
    rows = [(i, {"prompt": r["prompt"], "completion": r["completion"] * rng.choice([1, 1, 6])}) for i, r in rows]
    ex = encode_rows(rows, backend.enc, 512, True, "rows").examples[:16]
    return backend, ex


def gradient(backend, batches, normalise="tokens"):
    """The accumulated gradient of the LoRA weights: each micro-batch's summed token loss over the
    step's token count (train_step's rule), or the old rule, each micro-batch's mean over the count."""
    params = backend.parameters()
    for p in params:
        p.grad = None
    total = sum(b["label_tokens"] for b in batches)
    for b in batches:
        summed, n = backend.loss_sum(b)
        loss = summed / total if normalise == "tokens" else (summed / n) / len(batches)
        loss.backward()
    grads = torch.cat([p.grad.flatten() for p in params]).clone()
    for p in params:
        p.grad = None
    return grads


def test_two_micro_batches_of_8_give_the_gradient_of_one_batch_of_16(backend_and_examples):
    backend, ex = backend_and_examples
    pad = backend.pad
    one = gradient(backend, [collate(ex, pad)])
    two = gradient(backend, [collate(ex[:8], pad), collate(ex[8:], pad)])
    assert one.abs().max().item() > 1e-3, "a gradient to compare"
    assert (one - two).abs().max().item() < 1e-6
    # the old normalisation (mean of micro-batch means) is measurably different on the same data
    means = gradient(backend, [collate(ex[:8], pad), collate(ex[8:], pad)], normalise="means")
    assert (one - means).abs().max().item() > 1e-4


def test_train_step_itself_steps_with_the_token_weighted_gradient(backend_and_examples):
    backend, ex = backend_and_examples
    pad = backend.pad
    params = backend.parameters()
    start = [p.detach().clone() for p in params]

    def step_with(batches):
        for p, s in zip(params, start):
            p.data.copy_(s)
        opt = torch.optim.SGD(params, lr=1.0)
        r = train_step(backend, batches, opt, NoScaler(), params, max_grad_norm=1e9)
        moved = torch.cat([(s - p.detach()).flatten() for p, s in zip(params, start)])
        return r, moved

    r1, one = step_with([collate(ex, pad)])
    r2, two = step_with([collate(ex[:8], pad), collate(ex[8:], pad)])
    for p, s in zip(params, start):
        p.data.copy_(s)
    assert (one - two).abs().max().item() < 1e-6
    assert r1.label_tokens == r2.label_tokens and abs(r1.loss - r2.loss) < 1e-6
    assert r1.input_tokens == r2.input_tokens


class RecordingScaler:
    """GradScaler's protocol, recording the order of calls; `overflow` makes update() halve the scale."""

    def __init__(self, overflow=False):
        self.calls, self.scale_value, self.overflow = [], 1024.0, overflow

    def scale(self, x):
        self.calls.append("scale")
        return x * self.scale_value

    def unscale_(self, opt):
        self.calls.append("unscale")
        for g in opt.param_groups:
            for p in g["params"]:
                if p.grad is not None:
                    p.grad /= self.scale_value

    def step(self, opt):
        self.calls.append("step")

    def update(self):
        self.calls.append("update")
        if self.overflow:
            self.scale_value /= 2

    def get_scale(self):
        return self.scale_value

    def is_enabled(self):
        return True


def test_the_scaler_scales_each_micro_batch_and_unscales_before_clipping(backend_and_examples):
    backend, ex = backend_and_examples
    params = backend.parameters()
    scaler = RecordingScaler()
    r = train_step(backend, [collate(ex[:8], backend.pad), collate(ex[8:], backend.pad)], torch.optim.SGD(params, lr=0.0),
                   scaler, params)
    assert scaler.calls == ["scale", "scale", "unscale", "step", "update"]
    assert not r.skipped and 0 < r.grad_norm < 1e3, "the norm is of unscaled gradients"
    skipped = train_step(backend, [collate(ex[:8], backend.pad)], torch.optim.SGD(params, lr=0.0), RecordingScaler(True), params)
    assert skipped.skipped
