"""What the trainer does with a run's rows and length, through `python -m tunebook.finetune` on the
tiny model: fractional epochs reach the final validation and checkpoint; too-long validation rows
are counted and named, not dropped silently; conversational rows train; a boundary token is noted."""
from __future__ import annotations

import json
from pathlib import Path

from finetune_runs import tiny_config, train, write_rows


def test_a_fractional_epoch_run_ends_with_its_validation_and_checkpoint(tmp_path):
    cfg = tiny_config(tmp_path, max_steps=None, epochs=0.5, eval_every=1000, save_every=1000)
    run = train(cfg)
    assert run.code == 0, run.error
    steps = run.of("step")
    # 64 rows, batch 4 × 2: 8 steps an epoch, half of it is 4
    assert run.of("start")[0]["steps"] == 4 and [e["step"] for e in steps] == [1, 2, 3, 4]
    assert [e["step"] for e in run.of("eval")] == [0, 4], "the final validation ran"
    assert [e["step"] for e in run.of("checkpoint")] == [4]
    assert steps[-1]["epoch"] == 0.5


def test_too_long_validation_rows_are_counted_and_named(tmp_path):
    cfg = tiny_config(tmp_path, max_steps=2)
    val = Path(cfg["val_file"])
    lines = val.read_text().splitlines()
    long = {"prompt": "Question: " + "very " * 60 + "long?\nAnswer:", "completion": " yes"}
    lines[2] = lines[5] = json.dumps(long)
    val.write_text("\n".join(lines) + "\n")
    run = train(cfg)
    assert run.code == 0, run.error
    start = run.of("start")[0]
    assert start["val_dropped_too_long"] == 2 and start["val_examples"] == 14
    assert f"{val}: 2 of 16 validation rows are longer than max_seq_len=64 tokens and are left out of the validation " \
           "loss (lines 3, 6); raise max_seq_len to include them" in run.messages("warning")


def test_conversational_rows_train_on_the_models_chat_template(tmp_path):
    rows = tmp_path / "chat.jsonl"
    facts = [json.loads(l) for l in write_rows(tmp_path / "plain.jsonl", 24).read_text().splitlines()]
    rows.write_text("".join(json.dumps({"messages": [{"role": "user", "content": r["prompt"]},
                                                     {"role": "assistant", "content": r["completion"].strip()}]}) + "\n"
                            for r in facts))
    cfg = tiny_config(tmp_path, train_file=str(rows), val_file=None, max_steps=3, max_seq_len=128)
    run = train(cfg)
    assert run.code == 0, run.error
    assert run.of("start")[0]["train_examples"] == 24 and run.of("done")
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant"}]}) + "\n")
    refused = train(tiny_config(tmp_path, out="bad", train_file=str(bad), val_file=None))
    assert f'{bad}:1: field "messages[1].content" is missing' in refused.error


def test_a_token_spanning_the_boundary_is_noted(tmp_path):
    rows = tmp_path / "split.jsonl"
    rows.write_text("".join(json.dumps({"prompt": "Say it: P", "completion": "aris"}) + "\n" for _ in range(8)))
    run = train(tiny_config(tmp_path, train_file=str(rows), val_file=None, max_steps=1))
    assert run.code == 0, run.error
    assert run.of("start")[0]["boundary_merged"] == 8
    assert "8 rows have a token spanning the prompt/completion boundary" in run.messages("note")
