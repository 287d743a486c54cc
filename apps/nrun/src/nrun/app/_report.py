"""`nrun experiment report ID --html FILE`: the page of nrun.exec.report, written whole."""

from __future__ import annotations

import errno
from pathlib import Path

__all__ = ["write_report"]

# a write that fails for want of room is the machine's trouble (exit 1), not the user's path
_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def write_report(experiment_id: str, path: Path) -> Path:
    """Render the experiment's report, then write it to `path` atomically; return the path.

    Nothing is written unless the page was made. A path that cannot be written (no such
    folder, a folder, no permission) is an `ExperimentError` (exit 2); a full disk stays the
    `WriteError` it is (exit 1).
    """
    from nrun.config.atomic import WriteError, atomic_write
    from nrun.exec.report import experiment_report
    from nrun.exec.store import ExperimentError

    if path.is_dir():
        raise ExperimentError(f"cannot write '{path}': it is a folder; name a file")
    page = experiment_report(experiment_id)
    try:
        return atomic_write(path, page, mode=None)
    except WriteError as exc:
        if exc.errno in _FULL:
            raise
        raise ExperimentError(str(exc)) from None
