"""Writing files whole or not at all: the kit's one atomic write."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["atomic_file", "atomic_write_text"]


def atomic_file(target: Path, write: Callable[[Path], object], mode: int = 0o644) -> Path:
    """Make `target` by `write(temp path)` beside it, then rename: whole or not at all.

    The temp file is synced and given `mode` before the rename; on any error (a full disk, a
    signal) it is removed and `target` is unchanged. The folder is synced after the rename
    where the filesystem allows, so the new name survives a crash too.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        os.chmod(tmp, mode)
        write(tmp)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    try:
        dir_fd = os.open(target.parent, os.O_RDONLY)
    except OSError:
        return target
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)
    return target


def atomic_write_text(path: Path, text: str, mode: int = 0o600) -> Path:
    """Write `text` (UTF-8) to `path` atomically with `mode` (owner-only by default)."""
    return atomic_file(path, lambda tmp: tmp.write_text(text, encoding="utf-8"), mode)
