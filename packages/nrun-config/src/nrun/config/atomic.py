"""Files written whole or not at all, owner-only by default: the one atomic write of nrun.

A reader sees the old file or the new one, never half of it; a failed write (a full disk, a
file-size limit, a kill) leaves no temp file behind and raises `WriteError`, whose message is
one line naming the path. Standard library only: the task runner and the local supervisor use it.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = [
    "WriteError",
    "atomic_path",
    "atomic_write",
    "private_dir",
    "read_json",
    "write_json",
]

PRIVATE = 0o600
"""The default mode of every file written here: secrets (env vars, tokens) can land in any."""


class WriteError(OSError):
    """A file could not be written; `str()` is one line: the path and the system's reason."""

    def __init__(self, path: str | os.PathLike[str], error: OSError):
        reason = error.strerror or str(error)
        super().__init__(error.errno, f"cannot write '{path}': {reason}")
        self.path = Path(path)

    def __str__(self) -> str:
        return str(self.strerror)


def _default_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], *, mode: int | None = PRIVATE) -> Iterator[Path]:
    """Yield a temp file beside `path` to write; on success it becomes `path` (chmod `mode`).

    `mode=None` gives what a plain `open(path, "w")` would (0666 less the umask), for files a
    user exports to share. On any error the temp file is removed and the target left as it was.
    """
    target = Path(path)
    try:
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise WriteError(target, exc) from None
    tmp = Path(name)
    try:
        os.close(fd)
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.chmod(tmp, _default_mode() if mode is None else mode)
        os.replace(tmp, target)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError) and not isinstance(exc, WriteError):
            raise WriteError(target, exc) from None
        raise
    _fsync_dir(target.parent)


def atomic_write(
    path: str | os.PathLike[str], data: bytes | str, *, mode: int | None = PRIVATE
) -> Path:
    """Write `data` (text as UTF-8) to `path` atomically; return the path."""
    raw = data.encode() if isinstance(data, str) else data
    with atomic_path(path, mode=mode) as tmp, open(tmp, "wb") as handle:
        handle.write(raw)
    return Path(path)


def write_json(path: str | os.PathLike[str], data: Any, *, mode: int | None = PRIVATE) -> Path:
    """Write `data` as JSON to `path` atomically."""
    return atomic_write(path, json.dumps(data, indent=1), mode=mode)


def read_json(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The JSON object in `path`, or None when there is none (missing, empty, not an object)."""
    try:
        data = json.loads(Path(path).read_bytes())
    except (FileNotFoundError, NotADirectoryError, json.JSONDecodeError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def private_dir(path: str | os.PathLike[str]) -> Path:
    """`mkdir -p path`, each folder it creates owner-only (0700) whatever the umask."""
    target = Path(path)
    missing = []
    probe = target
    while not probe.exists():
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=0o700, exist_ok=True)
            os.chmod(folder, 0o700)
        except OSError as exc:
            raise WriteError(folder, exc) from None
    return target
