"""Fault injection: let a test SIGKILL the trainer at an exact point of a write.

    TUNEBOOK_FAULT=checkpoint.state@6 python3 -m tunebook.finetune CONFIG.json

makes the process kill itself (SIGKILL, as `kill -9` or the OOM killer would) when it reaches the
named point, at that step (without `@STEP`: the first time it gets there). Nothing happens when the
variable is unset. With several processes, TUNEBOOK_FAULT_RANK=R limits it to rank R (default: every
rank). The points are listed in FAULT_POINTS, in the order a checkpoint save reaches
them; tests/python/test_finetune_faults.py kills the trainer at each.
"""
from __future__ import annotations

import os
import signal

FAULT_POINTS = (
    "train.step",  # an optimizer step is done; its checkpoint (if one is due) is not written yet
    "checkpoint.adapter",  # the adapter is in the temporary folder; trainer_state.pt is not
    "checkpoint.state",  # trainer_state.pt is written; checkpoint.json is not
    "checkpoint.manifest",  # checkpoint.json is written; nothing is fsynced or renamed yet
    "checkpoint.swapped",  # a stale folder of the same step is moved aside; the new one is not in place yet
    "checkpoint.renamed",  # the new step-N is in place; older ones are not rotated out yet
    "checkpoint.rotate",  # an old checkpoint is renamed to its trash name; not deleted yet
    "adapter.written",  # the final adapter is in its temporary folder, not yet in place
    "adapter.swapped",  # the previous adapter/ is moved aside; the new one is not in place yet
    "adapter.renamed",  # the new adapter/ is in place; the previous one is not deleted yet
)


def fault_point(name: str, step: int | None = None) -> None:
    """SIGKILL this process if TUNEBOOK_FAULT names this point (and step)."""
    spec = os.environ.get("TUNEBOOK_FAULT")
    if not spec:
        return
    if name not in FAULT_POINTS:
        raise ValueError(f"fault point {name!r} is not in FAULT_POINTS")
    only = os.environ.get("TUNEBOOK_FAULT_RANK")
    if only is not None and only != os.environ.get("RANK", "0"):
        return
    if spec == name or (step is not None and spec == f"{name}@{step}"):
        os.kill(os.getpid(), signal.SIGKILL)
