"""Several processes, one run: torch.distributed under torchrun (or accelerate launch), as one
trainer.

    python3 -m tunebook.torchrun --standalone --nproc_per_node 2 -m tunebook.finetune CONFIG.json

(`deno task finetune --nproc 2` builds that command line: lib/train/launch.ts.) The launcher sets
RANK, WORLD_SIZE and LOCAL_RANK; `Dist.from_env()` joins the process group — `gloo` on the CPU,
`nccl` on a GPU, each rank on the GPU of its local rank — and a single process (no launcher) is
the trivial group of one, with nothing initialised.

What makes the result independent of the process count:
- the config's batch (batch_size × grad_accum rows a step) is the global batch: every rank draws
  the same data order (same seed), takes that step's rows, and trains on its own contiguous,
  disjoint share of them (`Dist.share`), in micro batches of at most batch_size rows;
- the loss is divided by the step's label-token count summed over all ranks, and scaled by the
  process count to undo DDP's gradient averaging (train_step.py), so the gradient is the one a
  single process would compute for the whole step;
- LoRA weights start equal on every rank (same seed; DDP also broadcasts rank 0's at the start).
LoRA dropout draws each rank's masks from its own generator, so with dropout on, results agree in
distribution, not bit for bit.

Rank 0 alone writes: events on stdout, the run folder (config, data copy, checkpoints, adapter),
its lock; the other ranks wait at barriers. A checkpoint holds the global data order, optimizer and
RNG state, so it resumes with any process count. Every rank reads it, so on several machines
`output_dir` must be on storage they share.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch


@dataclass
class Dist:
    """This process's place in the run."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    backend: str | None = None  # "gloo" or "nccl" when a process group is up

    @property
    def main(self) -> bool:
        return self.rank == 0

    @classmethod
    def from_env(cls, device: str | None = None) -> "Dist":
        """Join the launcher's process group (WORLD_SIZE > 1), else the single-process Dist."""
        world = int(os.environ.get("WORLD_SIZE", "1"))
        if world <= 1:
            return cls()
        rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
        gpu = (device or ("cuda" if torch.cuda.is_available() else "cpu")).startswith("cuda")
        if gpu:
            torch.cuda.set_device(local)
        backend = "nccl" if gpu else "gloo"
        import torch.distributed as dist

        if not dist.is_initialized():
            dist.init_process_group(backend)
        return cls(rank, world, local, backend)

    def device(self, configured: str | None) -> str | None:
        """The device this rank trains on: cuda:<local rank> on a GPU, else as configured."""
        if self.world > 1 and self.backend == "nccl":
            return f"cuda:{self.local_rank}"
        return configured

    def barrier(self) -> None:
        if self.world > 1:
            import torch.distributed as dist

            dist.barrier()

    def all_sum(self, values: list[float]) -> list[float]:
        """Each value summed over the ranks (float64)."""
        if self.world == 1:
            return list(values)
        import torch.distributed as dist

        t = torch.tensor(values, dtype=torch.float64, device="cuda" if self.backend == "nccl" else "cpu")
        dist.all_reduce(t)
        return t.tolist()

    def share(self, rows: list, micro_batch: int) -> list[list]:
        """This rank's contiguous share of a step's rows, in micro batches of at most `micro_batch`."""
        k = len(rows) // self.world
        mine = rows[self.rank * k:(self.rank + 1) * k]
        size = max(d for d in range(1, min(micro_batch, k) + 1) if k % d == 0)
        return [mine[i:i + size] for i in range(0, k, size)]

    def close(self) -> None:
        if self.world > 1:
            import torch.distributed as dist

            dist.barrier()
            dist.destroy_process_group()


def check_split(step_rows: int, world: int, batch_size: int, grad_accum: int) -> str | None:
    """Why a step's rows cannot be split evenly over `world` processes (None: they can)."""
    if world > 1 and step_rows % world:
        return (f"batch_size × grad_accum = {batch_size} × {grad_accum} = {step_rows} rows a step do not split evenly "
                f"over {world} processes; make it a multiple of {world} (e.g. --set grad_accum="
                f"{max(1, -(-grad_accum // world)) * world}), or use another process count")
    return None


class DdpMixin:
    """What a backend adds to train under DistributedDataParallel: `runner` is the module its
    training forward goes through (the model itself, or its DDP wrapper); evaluation and saving
    use the model itself, so the adapter keeps its PEFT names."""

    runner = None

    def wrap_ddp(self, dist: Dist) -> None:
        from torch.nn.parallel import DistributedDataParallel as DDP

        kwargs = {"device_ids": [dist.local_rank], "output_device": dist.local_rank} if dist.backend == "nccl" else {}
        self.runner = DDP(self.model, broadcast_buffers=False, **kwargs)

    def forward_module(self, ddp: bool = True):
        return self.runner if ddp and self.runner is not None else self.model

    def no_sync(self, last: bool):
        """DDP's no_sync() for every micro batch but a step's last (its backward all-reduces)."""
        import contextlib

        return contextlib.nullcontext() if last or self.runner is None else self.runner.no_sync()
