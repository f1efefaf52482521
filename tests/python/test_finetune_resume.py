"""Resuming a fine-tuning run never mixes two runs, and every refusal says what differs and what
to do; what an interrupted save left is cleaned up; bad rows are named by file:line and field.
(The kill-and-rerun cases are in test_finetune_faults.py.) Bundled tiny model, a second a run."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

from finetune_runs import (PYTHON_DIR, _config_file, adapter_bytes, leftover_names, tiny_config, train, train_and_kill, tree,
                           write_rows)


def interrupted(tmp_path, **overrides):
    """A run killed (kill -9 from outside) as soon as it reports its checkpoint at step 6 (of 12)."""
    cfg = tiny_config(tmp_path, **overrides)
    assert train_and_kill(cfg, 6, event="checkpoint").code == -9
    return cfg


def test_leftover_temporary_folders_are_removed_with_a_note(tmp_path):
    cfg = interrupted(tmp_path)
    ckpts = Path(cfg["output_dir"]) / "checkpoints"
    legacy = ckpts / "step-9.tmp"  # what tunebook's trainer left before atomic checkpoints
    (legacy / "adapter").mkdir(parents=True)
    (legacy / "adapter" / "adapter_config.json").write_text("{")
    partial = ckpts / ".step-9.tmp-4242"
    partial.mkdir()
    run = train(cfg)
    assert run.code == 0, run.error or run.stderr
    notes = run.messages("warning")
    assert f"removed {legacy}" in notes and f"removed {partial}" in notes
    assert leftover_names(cfg["output_dir"]) == []
    assert [e["step"] for e in run.of("resume")] == [6]


def refused(cfg) -> str:
    before = tree(cfg["output_dir"])
    run = train(cfg)
    assert run.code != 0 and run.error, "the mismatched resume was not refused"
    assert tree(cfg["output_dir"]) == before, "a refused resume changed the run folder"
    assert not run.of("step"), "a refused resume trained"
    assert "start a new run (deno task finetune --run NEW_NAME" in run.error
    assert "start this run over (--no-resume; or resume: false)" in run.error
    return run.error


def test_changed_learning_rate_is_refused_and_the_run_keeps_its_record(tmp_path):
    cfg = interrupted(tmp_path)
    message = refused({**cfg, "lr": 0.03})
    assert "its checkpoint at step 6 was trained with other settings" in message
    assert "\n  lr: 0.003 → 0.03\n" in message
    assert json.loads((Path(cfg["output_dir"]) / "config.json").read_text())["lr"] == 0.003


def test_changed_lora_rank_is_refused_by_name(tmp_path):
    cfg = interrupted(tmp_path)
    message = refused({**cfg, "lora": {**cfg["lora"], "r": 16, "alpha": 32}})
    assert "  lora.alpha: 16 → 32\n  lora.r: 8 → 16\n" in message
    assert "RuntimeError" not in message


def test_changed_data_is_refused(tmp_path):
    cfg = interrupted(tmp_path)
    write_rows(Path(cfg["train_file"]), 64, offset=100)
    message = refused(cfg)
    assert "data.train_sha256:" in message and "(the training rows changed)" in message


def test_a_longer_run_resumes_and_says_so(tmp_path):
    cfg = tiny_config(tmp_path, max_steps=6)
    assert train(cfg).code == 0
    longer = train({**cfg, "max_steps": 9})
    assert longer.code == 0, longer.error
    assert [e["step"] for e in longer.of("resume")] == [6]
    assert [e["step"] for e in longer.of("step")] == [7, 8, 9]
    assert "the run's length changed from 6 to 9 steps" in longer.messages("note")
    shorter = train({**cfg, "max_steps": 4})
    assert shorter.code != 0 and "its checkpoint is at step 9, past this config's 4 steps" in shorter.error


def test_validation_and_checkpoint_intervals_do_not_change_the_adapter(tmp_path):
    """They are not part of the run's identity: validating draws no random numbers (dropout is off
    for it), so a run validated every 4 steps and one validated every 5 give the same adapter."""
    a = tiny_config(tmp_path, out="a", eval_every=4, save_every=3)
    b = tiny_config(tmp_path, out="b", eval_every=5, save_every=4)
    assert train(a).code == 0 and train(b).code == 0
    assert adapter_bytes(a["output_dir"]) == adapter_bytes(b["output_dir"])
    # and a resume may change them
    (tmp_path / "c").mkdir()
    c = interrupted(tmp_path / "c")
    run = train({**c, "eval_every": 5, "save_every": 2})
    assert run.code == 0, run.error
    assert adapter_bytes(c["output_dir"]) == adapter_bytes(a["output_dir"])


def test_no_resume_starts_over_and_a_later_resume_uses_only_the_new_run(tmp_path):
    cfg = tiny_config(tmp_path)
    assert train(cfg).code == 0
    fresh = {**cfg, "resume": False, "max_steps": 6, "lr": 0.001}
    over = train(fresh)
    assert over.code == 0, over.error
    assert "discarded the checkpoints of the previous run" in over.messages("warning")
    assert "step-12" in over.messages("warning")
    first = adapter_bytes(cfg["output_dir"])
    again = train({**fresh, "resume": True})
    assert again.code == 0, again.error
    assert [e["step"] for e in again.of("resume")] == [6]
    assert adapter_bytes(cfg["output_dir"]) == first
    assert sorted(p.name for p in (Path(cfg["output_dir"]) / "checkpoints").iterdir()) == ["step-3", "step-6"]


def test_a_second_trainer_on_the_same_run_folder_is_refused(tmp_path):
    cfg = tiny_config(tmp_path, max_steps=100000, save_every=100000, val_file=None)
    first = subprocess.Popen([sys.executable, "-m", "tunebook.finetune", str(_config_file(cfg))], cwd=PYTHON_DIR,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        for line in first.stdout:
            if '"event": "start"' in line:
                break
        second = train(cfg, timeout=60)
        assert second.code != 0
        assert f"another trainer (pid {first.pid}) is writing this run folder" in second.error
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert train({**cfg, "max_steps": 2, "save_every": 1}).code == 0, "the lock outlived the killed trainer"


def write_lines(path: Path, *rows) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def test_bad_rows_are_named_by_the_users_file_line_and_field(tmp_path):
    good = {"prompt": "Q:", "completion": " a"}
    rows = tmp_path / "mine.jsonl"
    cases = [
        ((good, {"prompt": 123, "completion": " b"}), f'{rows}:2: field "prompt" is a number (123); expected a string'),
        ((good, good, {"prompt": "Q:", "completion": None}), f'{rows}:3: field "completion" is null; expected a string'),
        ((good, {"promt": "Q:", "completion": " b"}), f'{rows}:2: field "prompt" is missing; it has "promt": did you mean "prompt"?'),
        ((good, {"question": "Q:", "answer": " b"}), f'{rows}:2: field "prompt" is missing (it has: answer, question)'),
        ((good, ["Q:", " a"]), f'{rows}:2: expected a JSON object with string fields "prompt" and "completion", got a list'),
        ((good, '{"prompt": "Q:", "completion"'), f"{rows}:2: not valid JSON"),
    ]
    for lines, expected in cases:
        write_lines(rows, *lines)
        run = train(tiny_config(tmp_path, train_file=str(rows), val_file=None))
        assert run.code != 0 and expected in run.error, (expected, run.error)
        assert not (tmp_path / "run" / "config.json").exists(), "a run with bad rows was recorded"
