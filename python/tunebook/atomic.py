"""Writes that a kill cannot leave half done: a temporary name, fsync, then one rename.

A file or folder being written is named `.<name>.tmp-<pid>`; a folder being replaced or removed is
first renamed to `.<name>.trash-<pid>`. Either kind left behind by a killed process is garbage,
which `leftovers()` finds (the trainer removes them when it next starts, under its run lock).
"""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Callable

from .faults import fault_point

_LEFTOVER = re.compile(r"^\..+\.(tmp|trash)-\d+$")


def temp_name(target: Path) -> Path:
    """Where `target` is written before the rename that puts it in place."""
    return target.with_name(f".{target.name}.tmp-{os.getpid()}")


def trash_name(target: Path) -> Path:
    """Where `target` goes while it is being replaced or removed."""
    return target.with_name(f".{target.name}.trash-{os.getpid()}")


def fsync_dir(path: Path) -> None:
    """Make a folder's entries (creations, renames) durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(root: Path) -> None:
    """fsync every file under `root`, then every folder, deepest first."""
    for folder, _, files in os.walk(root, topdown=False):
        for name in files:
            with open(os.path.join(folder, name), "rb") as f:
                os.fsync(f.fileno())
        fsync_dir(Path(folder))


def write_file_atomic(path: Path, data: bytes) -> None:
    """Replace `path` with `data`: readers see the old bytes or the new ones, never a mix."""
    tmp = temp_name(path)
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def write_dir_atomic(target: Path, fill: Callable[[Path], None], fault: str | None = None, step: int | None = None) -> None:
    """Build a folder with `fill(tmp)`, fsync it, and rename it to `target` (replacing one there).

    `fault` names the fault points `<fault>.swapped` (the old folder moved aside, the new one not in
    place) and `<fault>.renamed` (the new one in place, the old one not yet deleted).
    """
    tmp = temp_name(target)
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    fill(tmp)
    fsync_tree(tmp)
    old = None
    if target.exists():
        old = trash_name(target)
        shutil.rmtree(old, ignore_errors=True)
        os.rename(target, old)
        if fault:
            fault_point(f"{fault}.swapped", step)
    os.rename(tmp, target)
    fsync_dir(target.parent)
    if fault:
        fault_point(f"{fault}.renamed", step)
    if old is not None:
        shutil.rmtree(old)


def remove_dir(path: Path, fault: str | None = None, step: int | None = None) -> None:
    """Delete a folder so that a kill midway never leaves something that looks whole under its name."""
    trash = trash_name(path)
    os.rename(path, trash)
    fsync_dir(path.parent)
    if fault:
        fault_point(fault, step)
    shutil.rmtree(trash)


def leftovers(folder: Path) -> list[Path]:
    """Temporary and trash entries in `folder` that a killed writer left behind."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if _LEFTOVER.match(p.name))
