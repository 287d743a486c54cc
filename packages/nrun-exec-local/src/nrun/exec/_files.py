"""Files appended to while a job or a launcher runs (logs, locks), owner-only whatever the umask.

The records themselves are replaced whole through `nrun.config.atomic`; these are the files that
cannot be: they grow. Standard library only (the local supervisor uses it).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

__all__ = ["PRIVATE_FILE", "open_private"]

PRIVATE_FILE = 0o600


def open_private(path: str | os.PathLike[str]) -> BinaryIO:
    """Open `path` to append bytes, unbuffered, made (or kept) 0600 whatever the umask."""
    fd = os.open(Path(path), os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, PRIVATE_FILE)
    try:
        os.fchmod(fd, PRIVATE_FILE)
    except OSError:
        os.close(fd)
        raise
    return os.fdopen(fd, "ab", buffering=0)
