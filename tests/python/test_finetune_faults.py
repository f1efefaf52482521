"""Fault injection for fine-tuning: the trainer is SIGKILLed at every point of a checkpoint save
and of the final adapter write (TUNEBOOK_FAULT, python/tunebook/faults.py), and at seeded random
moments from outside, then run again with the same config. Each time the adapter must be
byte-identical to an uninterrupted run's, every loss after the resume the same number, and nothing
half written may survive. Runs the bundled tiny model, 12 steps with LoRA dropout on."""
from __future__ import annotations

import random
from pathlib import Path

import pytest

from finetune_runs import adapter_bytes, leftover_names, tiny_config, train, train_and_kill
from tunebook.checkpoint import MANIFEST, STATE
from tunebook.faults import FAULT_POINTS


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted run: its adapter bytes and the loss of every step."""
    cfg = tiny_config(tmp_path_factory.mktemp("reference"))
    run = train(cfg)
    assert run.code == 0, run.stderr
    return {"adapter": adapter_bytes(cfg["output_dir"]), "loss": {e["step"]: e["loss"] for e in run.of("step")},
            "val": {e["step"]: e["val_loss"] for e in run.of("eval")}}


def whole_checkpoints(out: str) -> list[str]:
    return sorted(p.name for p in (Path(out) / "checkpoints").iterdir() if (p / MANIFEST).is_file() and p.name.startswith("step-"))


def assert_same_as_reference(run, out: str, reference) -> None:
    assert run.code == 0, run.stderr
    assert adapter_bytes(out) == reference["adapter"], "the resumed adapter differs from the uninterrupted run's"
    for e in run.of("step"):
        assert e["loss"] == reference["loss"][e["step"]], f"step {e['step']}: loss {e['loss']} != {reference['loss'][e['step']]}"
    for e in run.of("eval"):
        assert e["val_loss"] == reference["val"][e["step"]]
    assert leftover_names(out) == []
    assert len(whole_checkpoints(out)) <= 2


# point, step, what the kill must leave behind (proving it landed mid-write), the step resumed from
MID_WRITE = [
    ("checkpoint.adapter", 6, "checkpoints/.step-6.tmp-", 3),
    ("checkpoint.state", 6, "checkpoints/.step-6.tmp-", 3),
    ("checkpoint.manifest", 6, "checkpoints/.step-6.tmp-", 3),
    ("checkpoint.renamed", 9, None, 9),
    ("checkpoint.rotate", 9, "checkpoints/.step-3.trash-", 9),
    ("adapter.written", None, ".adapter.tmp-", 12),
]


@pytest.mark.parametrize("point,step,left,resumed", MID_WRITE, ids=[f"{p}@{s}" if s else p for p, s, _, _ in MID_WRITE])
def test_killed_while_writing_then_rerun_gives_the_same_adapter(tmp_path, reference, point, step, left, resumed):
    cfg = tiny_config(tmp_path)
    out = cfg["output_dir"]
    killed = train(cfg, fault=f"{point}@{step}" if step else point)
    assert killed.code == -9, f"the fault {point} was not reached: {killed.stderr[-500:]}"
    if left:
        assert any(n.startswith(left) for n in leftover_names(out)), leftover_names(out)
    rerun = train(cfg)
    assert_same_as_reference(rerun, out, reference)
    assert [e["step"] for e in rerun.of("resume")] == [resumed]
    if left:
        assert "an unfinished write left by an interrupted run" in rerun.messages("warning")


def test_a_damaged_checkpoint_is_skipped_and_replaced(tmp_path, reference):
    cfg = tiny_config(tmp_path)
    out = Path(cfg["output_dir"])
    assert train(cfg, fault="checkpoint.renamed@9").code == -9
    state = out / "checkpoints" / "step-9" / STATE
    data = bytearray(state.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, other bytes: only the SHA-256 tells
    state.write_bytes(bytes(data))
    # Resumes from step 6, and is killed again while moving the damaged step-9 aside for the new one.
    swapped = train(cfg, fault="checkpoint.swapped@9")
    assert swapped.code == -9
    assert "step-9: not a complete checkpoint (trainer_state.pt does not match its SHA-256): ignored" in swapped.messages("warning")
    assert [e["step"] for e in swapped.of("resume")] == [6]
    rerun = train(cfg)
    assert_same_as_reference(rerun, str(out), reference)


@pytest.mark.parametrize("point", ["adapter.swapped", "adapter.renamed"])
def test_rerun_of_a_finished_run_killed_while_replacing_its_adapter(tmp_path, reference, point):
    cfg = tiny_config(tmp_path)
    out = cfg["output_dir"]
    assert train(cfg).code == 0
    assert train(cfg, fault=point).code == -9
    assert (Path(out) / "adapter").exists() == (point == "adapter.renamed")
    rerun = train(cfg)
    assert_same_as_reference(rerun, out, reference)
    assert "already complete at step 12" in rerun.messages("note")


def test_killed_at_random_moments_from_outside(tmp_path, reference):
    """kill -9 from another process three times, at seeded random steps and delays (mid-step or mid-save)."""
    rng = random.Random(10)
    cfg = tiny_config(tmp_path)
    out = cfg["output_dir"]
    kills = sorted(rng.sample(range(1, 12), 3))
    for after in kills:
        killed = train_and_kill(cfg, after, delay_s=rng.uniform(0, 0.05))
        assert killed.code == -9, f"the run ended before the kill after step {after}"
    rerun = train(cfg)
    assert_same_as_reference(rerun, out, reference)


def test_every_fault_point_is_exercised():
    covered = {p for p, _, _, _ in MID_WRITE} | {"checkpoint.swapped", "adapter.swapped", "adapter.renamed"}
    covered |= {"train.step"}  # a rank killed mid-run: tests/python/test_distributed.py, tests/model/finetune_distributed_test.ts
    assert covered == set(FAULT_POINTS)
