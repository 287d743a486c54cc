"""Writing files whole or not at all: the kit's one atomic write."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["atomic_write_text"]


def atomic_write_text(path: Path, text: str, mode: int = 0o600) -> Path:
    """Write `text` to `path` atomically with `mode`: temp file beside it, fsync, rename.

    A reader sees the old file or the new one, never a part; on any error (a full disk, a
    signal) the temp file is removed and `path` is unchanged. The folder is synced after the
    rename where the filesystem allows, so the new name survives a crash too.
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return path
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)
    return path
