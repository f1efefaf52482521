"""What the stand-in transformers/peft modules were asked to do (see README.md)."""
from __future__ import annotations

import json
import os

CALLS: list[dict] = []


def _plain(v):
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    return str(v).replace("torch.", "")


def record(call: str, **fields) -> None:
    entry = {"call": call, **{k: _plain(v) for k, v in fields.items()}}
    CALLS.append(entry)
    path = os.environ.get("TUNEBOOK_STAND_IN_LOG")
    if path:
        with open(path, "a") as f:
            f.write(json.dumps(entry) + "\n")
