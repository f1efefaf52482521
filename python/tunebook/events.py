"""The bridge's event protocol: one JSON object per line on stdout (see ARCHITECTURE.md)."""
from __future__ import annotations

import json
import sys


def emit(event: str, **fields) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


def fail(message: str, code: int = 1) -> None:
    """Report an error a user can act on, then exit."""
    emit("error", message=message)
    print(message, file=sys.stderr)
    raise SystemExit(code)
