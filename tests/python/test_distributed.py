"""Several processes, one run (python/tunebook/distributed.py): 2 CPU processes with gloo under
torchrun on the tiny model give the adapter a single process gives with the same global batch and
seed; each rank trains on a disjoint share of every step's rows; a rank killed mid-run stops the run,
which resumes from its last checkpoint — with another process count too — to the uninterrupted
run's adapter."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

from finetune_runs import PYTHON_DIR, Run, _config_file, _parse, tiny_config, train
from tunebook.distributed import Dist, check_split
from tunebook.safetensors_io import load_safetensors

TOLERANCE = 1e-5


def torchrun(cfg: dict, nproc: int, env: dict | None = None, timeout: float = 120) -> Run:
    """`python -m tunebook.torchrun --standalone --nproc_per_node N -m tunebook.finetune CONFIG`, as
    lib/train/launch.ts starts it."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("TUNEBOOK_FAULT")} | (env or {})
    p = subprocess.run([sys.executable, "-m", "tunebook.torchrun", "--standalone", "--nproc_per_node", str(nproc),
                        "--monitor_interval", "1", "-m", "tunebook.finetune", str(_config_file(cfg))],
                       cwd=PYTHON_DIR, capture_output=True, text=True, env=full, timeout=timeout)
    return Run(p.returncode, _parse(p.stdout), p.stderr)


def adapter(out: str) -> dict[str, torch.Tensor]:
    return load_safetensors(os.path.join(out, "adapter", "adapter_model.safetensors"))


def max_difference(a: dict, b: dict) -> float:
    assert sorted(a) == sorted(b)
    return max(float((a[k] - b[k]).abs().max()) for k in a)


def config(tmp, out, **kw):
    # LoRA dropout off: with it on, each rank draws its own masks (equal in distribution only).
    return tiny_config(tmp, out, **{"lora.dropout": 0.0, "save_every": 3, **kw})


def test_each_rank_trains_on_a_disjoint_share_of_the_step():
    rows = list(range(16))
    shares = [Dist(rank=r, world=2).share(rows, 4) for r in range(2)]
    assert shares == [[[0, 1, 2, 3], [4, 5, 6, 7]], [[8, 9, 10, 11], [12, 13, 14, 15]]]
    assert Dist(rank=1, world=4).share(rows, 8) == [[4, 5, 6, 7]]  # at most batch_size rows a micro batch
    assert Dist().share(rows, 4) == [rows[0:4], rows[4:8], rows[8:12], rows[12:16]]  # one process: as before
    assert check_split(16, 2, 4, 4) is None
    assert "8 rows a step do not split evenly over 3 processes" in check_split(8, 3, 4, 2)


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("single")
    cfg = config(tmp, "one")
    run = train(cfg)
    assert run.code == 0, run.stderr
    return cfg, run


def test_two_gloo_processes_train_the_single_process_adapter(tmp_path, single):
    cfg1, one = single
    cfg = config(tmp_path, "two", train_file=cfg1["train_file"], val_file=cfg1["val_file"])
    two = torchrun(cfg, 2)
    assert two.code == 0, two.stderr[-3000:]
    start = two.of("start")[0]
    assert (start["processes"], start["rows_per_process"]) == (2, 4)  # 4 × 2 rows a step, 4 on each rank
    assert max_difference(adapter(cfg["output_dir"]), adapter(cfg1["output_dir"])) <= TOLERANCE
    # Every step saw exactly the single process's rows (the ranks' shares add up to them, no more).
    assert [e["label_tokens"] for e in two.of("step")] == [e["label_tokens"] for e in one.of("step")]
    for a, b in zip(two.of("step"), one.of("step")):
        assert abs(a["loss"] - b["loss"]) <= 1e-4
    for a, b in zip(two.of("eval"), one.of("eval")):
        assert abs(a["val_loss"] - b["val_loss"]) <= 1e-4
    assert len(two.of("done")) == 1 and two.of("done")[0]["processes"] == 2  # events from rank 0 only


def test_a_killed_rank_stops_the_run_and_it_resumes_to_the_same_adapter(tmp_path, single):
    cfg1, _ = single
    cfg = config(tmp_path, "killed", train_file=cfg1["train_file"], val_file=cfg1["val_file"])
    killed = torchrun(cfg, 2, env={"TUNEBOOK_FAULT": "train.step@5", "TUNEBOOK_FAULT_RANK": "1"})
    assert killed.code != 0
    assert max(e["step"] for e in killed.of("step")) <= 5
    assert "rank      : 1 (local_rank: 1)" in killed.stderr and "exitcode  : -9" in killed.stderr
    assert not os.path.exists(os.path.join(cfg["output_dir"], "adapter"))
    resumed = train(cfg)  # one process resumes what two started
    assert resumed.code == 0, resumed.stderr
    assert resumed.of("resume")[0]["step"] == 3
    assert max_difference(adapter(cfg["output_dir"]), adapter(cfg1["output_dir"])) <= TOLERANCE


def test_a_batch_that_does_not_split_over_the_processes_is_refused(tmp_path, single):
    cfg1, _ = single
    cfg = config(tmp_path, "three", train_file=cfg1["train_file"], val_file=cfg1["val_file"])
    run = torchrun(cfg, 3)
    assert run.code != 0
    assert "batch_size × grad_accum = 4 × 2 = 8 rows a step do not split evenly over 3 processes" in run.error
    assert not os.path.exists(os.path.join(cfg["output_dir"], "config.json"))
