"""torchrun (`python3 -m torch.distributed.run`), runnable on Debian's torch 1.13 under Python 3.11.

    python3 -m tunebook.torchrun --standalone --nproc_per_node 2 -m tunebook.finetune CONFIG.json

The arguments are torchrun's own. torch before 2.0 parses `--redirects`/`--tee` (default "0") by
iterating its `Std` flag enum, and Python 3.11 no longer yields a flag's zero member that way, so
every launch fails in `to_map` ('NoneType' object has no attribute 'get'). This puts the zero back
(Std.NONE) and then runs torchrun unchanged; on a torch without the bug it changes nothing.
"""
from __future__ import annotations

import sys

from torch.distributed.elastic.multiprocessing.api import Std

_from_str = Std.from_str.__func__


def _fixed_from_str(cls, vm: str):
    value = _from_str(cls, vm)
    if value is None:
        return Std.NONE
    if isinstance(value, dict):
        return {k: Std.NONE if v is None else v for k, v in value.items()}
    return value


Std.from_str = classmethod(_fixed_from_str)

if __name__ == "__main__":
    from torch.distributed.run import main

    main(sys.argv[1:])
