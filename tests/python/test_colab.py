"""python/tunebook/colab.py pieces the notebook run in tests/model/colab_notebook_test.ts does not
single out: events.jsonl across attempts, what goes back home, llama.cpp's fallback lines."""
from __future__ import annotations

import json
from pathlib import Path

from tunebook.colab import _FALLBACK, EventLog, run_files


def _log(path: Path, events: list[dict]) -> None:
    log = EventLog(path)
    for e in events:
        log.add(e, json.dumps(e))


def _steps(path: Path) -> list:
    return [json.loads(line).get("step") for line in path.read_text().splitlines()]


def test_event_log_tells_one_story_across_a_disconnect(tmp_path):
    path = tmp_path / "events.jsonl"
    _log(path, [{"event": "plan"}, {"event": "start", "start_step": 0}] + [{"event": "step", "step": s} for s in (1, 2, 3)])
    # killed after step 3, the checkpoint was at step 2: the new runtime resumes from 2
    _log(path, [{"event": "resume", "step": 2}, {"event": "start", "start_step": 2}, {"event": "step", "step": 3}])
    assert _steps(path) == [None, None, 1, 2, 2, None, 3]
    # a refused attempt (no start) leaves the log as it was
    before = path.read_text()
    _log(path, [{"event": "plan"}, {"event": "error", "message": "config differs"}])
    assert path.read_text() == before
    # a fresh start replaces it
    _log(path, [{"event": "start", "start_step": 0}, {"event": "step", "step": 1}])
    assert _steps(path) == [None, 1]


def test_run_files_send_the_run_and_each_gguf_with_its_card_not_checkpoints(tmp_path):
    out, exp = tmp_path / "drive" / "run", tmp_path / "export"
    for f in ("README.md", "config.json", "events.jsonl", "adapter/adapter_config.json",
              "adapter/adapter_model.safetensors", "checkpoints/step-2/x", "data/train.jsonl"):
        (out / f).parent.mkdir(parents=True, exist_ok=True)
        (out / f).write_text("x")
    outputs = {}
    for role, name in (("lora", "lora.gguf"), ("merged", "r-f16.gguf"), ("quantized", "r-q4_k_m.gguf")):
        exp.mkdir(exist_ok=True)
        (exp / name).write_text("g")
        (exp / (name + ".json")).write_text("{}")
        outputs[role] = exp / name
    files = dict(run_files(out, outputs, "Qwen/Qwen2.5-0.5B-Instruct", "q4_k_m", "synth_qa"))
    assert sorted(files) == sorted(["README.md", "config.json", "events.jsonl", "adapter/adapter_config.json",
                                    "adapter/adapter_model.safetensors", "lora.gguf", "lora.gguf.json", "r-f16.gguf",
                                    "r-f16.gguf.json", "r-q4_k_m.gguf", "r-q4_k_m.gguf.json", "tunebook_run.json"])
    assert files["r-q4_k_m.gguf"] == exp / "r-q4_k_m.gguf"
    manifest = json.loads((out / "tunebook_run.json").read_text())
    assert manifest["gguf"] == {"lora": "lora.gguf", "merged": "r-f16.gguf", "quantized": "r-q4_k_m.gguf"}
    assert manifest["task"] == "synth_qa" and manifest["files"][-1] == "tunebook_run.json"


def test_fallback_lines_as_llama_cpp_logs_them():
    # src/llama-quant.cpp's warning, as the quantizer process prints it (joined into one line)
    line = ("llama_tensor_get_type: warning: blk.0.attn_q.weight - ncols 128 not divisible by 256 "
            "(required for type q4_K) -> falling back to q5_0")
    assert _FALLBACK.findall(line) == [("blk.0.attn_q.weight", "128", "256", "q4_K", "q5_0")]


def test_a_merged_export_that_does_not_fit_in_ram_is_skipped_with_what_to_do(tmp_path):
    from tunebook.colab import merge_fits

    (tmp_path / "model.safetensors").write_bytes(b"\0" * (1 << 20))  # 0.5M fp16 parameters
    fits, why = merge_fits(tmp_path, available=8 << 30)
    assert fits, why
    # a 7B fp16 checkpoint (14 GB) on a free Colab runtime (~12 GB free)
    big = tmp_path / "big"
    big.mkdir()
    with (big / "model.safetensors").open("wb") as f:
        f.truncate(14 << 30)
    fits, why = merge_fits(big, available=12 << 30)
    assert not fits
    assert "needs ~29.0 GB of RAM and this runtime has 12.0 GB free: skipped" in why
    assert "deno task eval --lora" in why
