"""One trainer per run folder: an exclusive lock the operating system drops when the process dies.

Two trainers writing one run folder would interleave their checkpoints; the second refuses instead.
A killed trainer (kill -9, out of memory) holds nothing: the kernel releases its lock.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import IO

LOCK_FILE = ".trainer.lock"


class RunLocked(Exception):
    """Another live process holds the run folder's lock."""


def lock_run_dir(out: Path) -> IO[str]:
    """Lock `out` for this process (keep the returned file open while training)."""
    import fcntl

    path = out / LOCK_FILE
    f = open(path, "a+")
    try:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        f.seek(0)
        holder = f.read().strip() or "unknown"
        f.close()
        raise RunLocked(
            f"{out}: another trainer (pid {holder}) is writing this run folder; wait for it to end or stop it, "
            "or train under another run name (deno task finetune --run NAME; or another output_dir). "
            "Two trainers in one folder would mix their checkpoints."
        ) from None
    f.seek(0)
    f.truncate()
    f.write(f"{os.getpid()}\n")
    f.flush()
    return f
