"""What makes a fine-tuning run that run, and what may change when it resumes.

Every checkpoint records the identity of the run that wrote it (checkpoint.py): each config key
that changes the trained weights, and the SHA-256 of the training and validation rows. A resume
compares that with the new config's identity; any difference is refused, naming each key with its
old and new value and the two ways out, because continuing would mix two runs in one adapter.

May change on resume:
- EXECUTION_KEYS: where the run lives and how it is driven (paths — the data is compared by content —,
  threads, device, eval/checkpoint intervals, resume itself, and how many processes run it and how
  they are launched: the global batch is the config's whatever the process count, distributed.py). Bit-identical resume is proven for
  the same threads and device; another thread count or device can round differently.
- LENGTH_KEYS: max_steps (or epochs when max_steps is null) — a run can be extended (or shortened
  down to the checkpoint's step); the trainer says so, and the learning-rate schedule after the
  checkpoint follows the new length.
"""
from __future__ import annotations

import json

EXECUTION_KEYS = ("output_dir", "train_file", "val_file", "resume", "threads", "device", "eval_every", "save_every", "max_checkpoints",
                  "nproc", "nnodes", "node_rank", "master_addr", "master_port", "launcher")
LENGTH_KEYS = ("max_steps", "epochs")


def run_identity(cfg: dict, data_sha256: dict[str, str | None]) -> dict:
    """The identity of a run with config `cfg` on data with these SHA-256s ({"train": …, "val": …})."""
    ident = {k: v for k, v in cfg.items() if k not in EXECUTION_KEYS and k not in LENGTH_KEYS}
    ident["data"] = {f"{split}_sha256": h for split, h in sorted(data_sha256.items())}
    return ident


def _flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


_MISSING = object()


def identity_changes(old: dict, new: dict) -> list[tuple[str, object, object]]:
    """(dotted key, old value, new value) for every difference, in key order."""
    a, b = _flatten(old), _flatten(new)
    return [(k, a.get(k, _MISSING), b.get(k, _MISSING)) for k in sorted(set(a) | set(b)) if a.get(k, _MISSING) != b.get(k, _MISSING)]


def _show(key: str, v: object) -> str:
    if v is _MISSING:
        return "(not set)"
    if key.endswith("_sha256") and isinstance(v, str):
        return v[:12] + "…"
    return json.dumps(v)


_DATA_NOTES = {
    "data.train_sha256": "the training rows changed",
    "data.val_sha256": "the validation rows changed",
}


def mismatch_message(out: str, step: int, changes: list[tuple[str, object, object]]) -> str:
    """The refusal: what differs (old → new), and what to do."""
    lines = [f"{out}: cannot resume: its checkpoint at step {step} was trained with other settings, "
             "and resuming would mix two runs in one adapter:"]
    for key, old, new in changes:
        note = f" ({_DATA_NOTES[key]})" if key in _DATA_NOTES else ""
        lines.append(f"  {key}: {_show(key, old)} → {_show(key, new)}{note}")
    lines.append(
        "To train with the new settings, start a new run (deno task finetune --run NEW_NAME; or another "
        "output_dir), or start this run over (--no-resume; or resume: false), which discards its checkpoints. "
        f"To continue it, use its own settings ({out}/config.json)."
    )
    return "\n".join(lines)
