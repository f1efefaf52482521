"""Training checkpoints: one format for every backend, written atomically, found robustly.

    <output_dir>/checkpoints/step-<N>/
        adapter/            the PEFT adapter after step N (the backend's save_adapter)
        trainer_state.pt    torch.save of the trainer state (TRAINER_STATE_KEYS, below)
        checkpoint.json     {"format": 1, "step": N, "total_steps": T, "identity": {…}, "files":
                            {"adapter/adapter_model.safetensors": {"bytes": …, "sha256": …}, …}}

trainer_state.pt holds everything a resume needs to continue bit for bit: "format", "step",
"optimizer" (optimizer.state_dict()), "schedule" ({"step", "total"}), "scaler" (GradScaler
state, or None), "rng" (capture_rng(): python random, numpy, torch CPU, every CUDA device when
CUDA is initialized), "data_order" (the shuffling RNG and the rest of the current epoch's order)
and "backend" (whatever else a backend needs, {} for both today).

Writing (save_checkpoint): everything goes into `.step-<N>.tmp-<pid>/`; checkpoint.json is written
last and lists every file with its size and SHA-256; every file and folder is fsynced; one rename
makes it `step-<N>`. Checkpoints beyond `max_checkpoints` are renamed to `.step-<N>.trash-<pid>`
before they are deleted. So a folder named `step-<N>` is always whole, and a kill leaves at most
a temporary or trash folder, which clean_leftovers() removes at the next start (with a warning),
as it does `step-<N>.tmp` folders left by tunebook before this format.

Finding (latest_checkpoint): the highest `step-<N>` whose checkpoint.json parses, is format 1,
names step N, and whose files all exist with their recorded size and SHA-256. A folder that fails
is skipped with a warning naming why, and the next one down is tried.

Identity (run_identity.py): checkpoint.json records the run's identity; a resume with another one
is refused by the trainer before anything is written.
"""
from __future__ import annotations

import hashlib
import json
import random
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from .atomic import leftovers, remove_dir, write_dir_atomic
from .faults import fault_point

FORMAT = 1
MANIFEST = "checkpoint.json"
STATE = "trainer_state.pt"
TRAINER_STATE_KEYS = ("format", "step", "optimizer", "schedule", "scaler", "rng", "data_order", "backend")
_STEP = re.compile(r"^step-(\d+)$")
_LEGACY_TMP = re.compile(r"^step-\d+\.tmp$")


@dataclass
class Checkpoint:
    """A complete, verified checkpoint."""

    path: Path
    step: int
    total_steps: int
    identity: dict


def checkpoints_dir(out: Path) -> Path:
    return out / "checkpoints"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _files(root: Path) -> dict[str, dict]:
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and p.name != MANIFEST:
            out[p.relative_to(root).as_posix()] = {"bytes": p.stat().st_size, "sha256": _sha256(p)}
    return out


def clean_leftovers(out: Path) -> list[str]:
    """Remove what killed writers left in the run folder; returns one note per removed entry.

    Call it only while holding the run lock (run_lock.py), so that no live writer owns them."""
    notes = []
    ckpts = checkpoints_dir(out)
    found = leftovers(out) + leftovers(ckpts) + leftovers(out / "data")
    if ckpts.is_dir():
        found += sorted(p for p in ckpts.iterdir() if _LEGACY_TMP.match(p.name))
    for p in found:
        if p.is_dir():
            shutil.rmtree(p)
        else:
            p.unlink()
        notes.append(f"removed {p}: an unfinished write left by an interrupted run (ignored; the run resumes from "
                     "its latest complete checkpoint)")
    return notes


def _verify(path: Path, step: int, hashes: bool) -> tuple[dict | None, str]:
    """(manifest, "") when the checkpoint folder is whole; (None, why) otherwise."""
    try:
        manifest = json.loads((path / MANIFEST).read_text())
    except FileNotFoundError:
        return None, f"no {MANIFEST} (unfinished, or written by an older tunebook)"
    except (OSError, json.JSONDecodeError) as e:
        return None, f"{MANIFEST} is unreadable ({e})"
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        return None, f"{MANIFEST} is not checkpoint format {FORMAT}"
    if manifest.get("step") != step:
        return None, f"{MANIFEST} says step {manifest.get('step')}, the folder says {step}"
    for rel, info in manifest.get("files", {}).items():
        f = path / rel
        if not f.is_file():
            return None, f"{rel} is missing"
        if f.stat().st_size != info["bytes"]:
            return None, f"{rel} has {f.stat().st_size} bytes, {info['bytes']} were written"
        if hashes and _sha256(f) != info["sha256"]:
            return None, f"{rel} does not match its SHA-256"
    if STATE not in manifest.get("files", {}):
        return None, f"{STATE} is not listed"
    return manifest, ""


def _step_folders(out: Path) -> list[tuple[int, Path]]:
    ckpts = checkpoints_dir(out)
    if not ckpts.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in ckpts.iterdir() if (m := _STEP.match(p.name)) and p.is_dir()]
    return sorted(found)


def latest_checkpoint(out: Path, warn: Callable[[str], None]) -> Checkpoint | None:
    """The newest whole checkpoint in `out`, verified file by file; `warn` hears of each one skipped."""
    for step, path in reversed(_step_folders(out)):
        manifest, why = _verify(path, step, hashes=True)
        if manifest is None:
            warn(f"{path}: not a complete checkpoint ({why}): ignored")
            continue
        return Checkpoint(path, step, int(manifest["total_steps"]), manifest["identity"])
    return None


def save_checkpoint(out: Path, step: int, total_steps: int, identity: dict, write_adapter: Callable[[Path], None],
                    state: dict, keep: int) -> Path:
    """Write checkpoint `step` atomically, then delete all but the newest `keep` whole ones."""
    missing = set(TRAINER_STATE_KEYS) - set(state)
    if missing:
        raise ValueError(f"trainer state lacks {sorted(missing)}")
    target = checkpoints_dir(out) / f"step-{step}"
    target.parent.mkdir(parents=True, exist_ok=True)

    def fill(tmp: Path) -> None:
        write_adapter(tmp / "adapter")
        fault_point("checkpoint.adapter", step)
        torch.save(state, tmp / STATE)
        fault_point("checkpoint.state", step)
        manifest = {"format": FORMAT, "step": step, "total_steps": total_steps, "identity": identity, "files": _files(tmp)}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        fault_point("checkpoint.manifest", step)

    write_dir_atomic(target, fill, fault="checkpoint", step=step)
    whole = [(s, p) for s, p in _step_folders(out) if _verify(p, s, hashes=False)[0] is not None]
    for _, old in whole[:-keep]:
        remove_dir(old, fault="checkpoint.rotate", step=step)
    return target


def discard_checkpoints(out: Path) -> list[str]:
    """Delete every checkpoint folder of the run (starting over); returns their names."""
    names = []
    for _, path in _step_folders(out):
        remove_dir(path)
        names.append(path.name)
    return names


def load_trainer_state(ckpt: Checkpoint) -> dict:
    """trainer_state.pt of a verified checkpoint."""
    # The trainer's own file (verified by SHA-256 above); weights_only=False because it holds the
    # Python and numpy RNG states, which torch's weights-only loader does not read.
    state = torch.load(ckpt.path / STATE, map_location="cpu", weights_only=False)
    if state.get("format") != FORMAT or state.get("step") != ckpt.step:
        raise ValueError(f"{ckpt.path / STATE}: not the trainer state of step {ckpt.step}")
    return state


def capture_rng() -> dict:
    """Every random number generator training draws from, as it stands now."""
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() and torch.cuda.is_initialized() else None
    return {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state(), "cuda": cuda}


def restore_rng(rng: dict, warn: Callable[[str], None]) -> None:
    """Put back what capture_rng() saw."""
    random.setstate(rng["python"])
    np.random.set_state(rng["numpy"])
    torch.set_rng_state(rng["torch"])
    if rng.get("cuda") is not None:
        if torch.cuda.is_available() and torch.cuda.device_count() == len(rng["cuda"]):
            torch.cuda.set_rng_state_all(rng["cuda"])
        else:
            warn(f"the checkpoint has the CUDA RNG state of {len(rng['cuda'])} device(s) and this machine has "
                 f"{torch.cuda.device_count() if torch.cuda.is_available() else 0}: dropout after the resume will "
                 "not repeat the interrupted run's")
