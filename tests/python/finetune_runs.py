"""Helpers for the fine-tuning run tests: a small config on the bundled tiny model, and running
`python -m tunebook.finetune` as a user's shell would (a subprocess that can be SIGKILLed)."""
from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "data" / "models" / "tiny"
PYTHON_DIR = ROOT / "python"


def write_rows(path: Path, n: int, offset: int = 0) -> Path:
    """n {"prompt", "completion"} rows from the synthetic facts family."""
    lines = (ROOT / "data" / "synthetic" / "facts" / "train.jsonl").read_text().splitlines()[offset : offset + n]
    rows = [json.loads(l) for l in lines]
    path.write_text("".join(json.dumps({"prompt": f"Question: {r['question']}\nAnswer:", "completion": " " + r["correct_answer"]}) + "\n" for r in rows))
    return path


def tiny_config(tmp: Path, out: str = "run", **overrides) -> dict:
    """12 steps (1.5 epochs of 64 rows, batch 4 × 2 accumulated), a checkpoint every 3, LoRA dropout
    on (so resuming needs the RNG state), validation loss every 4: about a second on 2 cores."""
    train = tmp / "train.jsonl"
    val = tmp / "val.jsonl"
    if not train.exists():
        write_rows(train, 64)
        write_rows(val, 16, offset=64)
    cfg = {
        "backend": "torch", "base_model": str(TINY), "train_file": str(train), "val_file": str(val),
        "output_dir": str(tmp / out), "lora": {"r": 8, "alpha": 16, "dropout": 0.1, "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]},
        "lr": 3e-3, "schedule": "cosine", "warmup_steps": 2, "max_steps": 12, "epochs": 1, "batch_size": 4, "grad_accum": 2,
        "max_seq_len": 64, "packing": False, "completion_only_loss": True, "seed": 7, "eval_every": 4, "save_every": 3,
        "max_checkpoints": 2, "precision": "fp32", "load_in_4bit": False, "gradient_checkpointing": False, "threads": 1, "resume": True,
    }
    for k, v in overrides.items():
        if k.startswith("lora."):
            cfg["lora"] = {**cfg["lora"], k[5:]: v}
        else:
            cfg[k] = v
    return cfg


class Run:
    """One trainer process's outcome."""

    def __init__(self, code: int, events: list[dict], stderr: str):
        self.code, self.events, self.stderr = code, events, stderr

    def of(self, kind: str) -> list[dict]:
        return [e for e in self.events if e["event"] == kind]

    @property
    def error(self) -> str:
        errors = self.of("error")
        return errors[-1]["message"] if errors else ""

    def messages(self, kind: str) -> str:
        return "\n".join(e["message"] for e in self.of(kind))


def _config_file(cfg: dict) -> Path:
    # Outside the run folder, as the bridge does it.
    path = Path(cfg["output_dir"]).parent / f"config-{Path(cfg['output_dir']).name}.json"
    path.write_text(json.dumps(cfg))
    return path


def _parse(stdout: str) -> list[dict]:
    return [json.loads(l) for l in stdout.splitlines() if l.startswith("{")]


def train(cfg: dict, fault: str | None = None, timeout: float = 300) -> Run:
    """Run the trainer to its end (or to the SIGKILL that TUNEBOOK_FAULT=fault asks for)."""
    env = {k: v for k, v in os.environ.items() if k != "TUNEBOOK_FAULT"}
    if fault:
        env["TUNEBOOK_FAULT"] = fault
    p = subprocess.run([sys.executable, "-m", "tunebook.finetune", str(_config_file(cfg))], cwd=PYTHON_DIR,
                       capture_output=True, text=True, env=env, timeout=timeout)
    return Run(p.returncode, _parse(p.stdout), p.stderr)


def train_and_kill(cfg: dict, after_step: int, delay_s: float = 0.0, event: str = "step") -> Run:
    """Start the trainer and SIGKILL it from outside, `delay_s` after it reports `event` (a step,
    or a checkpoint) of step `after_step`."""
    p = subprocess.Popen([sys.executable, "-m", "tunebook.finetune", str(_config_file(cfg))], cwd=PYTHON_DIR,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    events = []
    for line in p.stdout:
        if line.startswith("{"):
            events.append(json.loads(line))
            if events[-1]["event"] == event and events[-1]["step"] == after_step:
                time.sleep(delay_s)
                p.send_signal(signal.SIGKILL)
                break
    p.stdout.close()
    return Run(p.wait(), events, "")


def adapter_bytes(out: str | Path) -> bytes:
    d = Path(out) / "adapter"
    return (d / "adapter_model.safetensors").read_bytes() + (d / "adapter_config.json").read_bytes()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def tree(out: str | Path) -> dict[str, str]:
    """Every file under a run folder with its SHA-256 (to show nothing changed)."""
    root = Path(out)
    return {p.relative_to(root).as_posix(): sha256(p.read_bytes()) for p in sorted(root.rglob("*"))
            if p.is_file() and p.name != ".trainer.lock"}


def leftover_names(out: str | Path) -> list[str]:
    """Temporary or trash entries anywhere under a run folder."""
    return [p.relative_to(out).as_posix() for p in Path(out).rglob("*") if ".tmp" in p.name or ".trash-" in p.name]
