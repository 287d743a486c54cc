"""Who launches an experiment's tasks, and what a reader does when that launcher is gone.

Every launcher records itself in `experiment.json` (`launcher`: pid, start time, host), in the
foreground as when detached (`python -m nrun.exec.experiment <dir>`). A reader that finds it
dead (or finished) marks the tasks it never launched CANCELLED with the reason, so nothing
stays PENDING forever. A launcher on another host is never judged from here.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nrun.exec._files import open_private
from nrun.exec._supervisor import Background, process_alive, start_time
from nrun.exec._tasks import TaskRecord
from nrun.exec.base import JobState, JobStatus
from nrun.exec.store import META, read_json, update_json

__all__ = ["LOG", "gone_reason", "launcher_alive", "mark_orphans", "me", "start_detached"]

LOG = "orchestrator.log"
_launchers: dict[int, Background] = {}
"""Detached launchers this process started, reaped as they are polled."""


def _forget_launchers() -> None:
    _launchers.clear()  # a forked child did not start them and cannot wait for them


os.register_at_fork(after_in_child=_forget_launchers)


def me() -> dict[str, Any]:
    """This process as a launcher: its pid, its start time (to tell a reused pid), its host."""
    pid = os.getpid()
    return {"pid": pid, "start": start_time(pid), "host": socket.gethostname()}


def start_detached(directory: Path) -> dict[str, Any]:
    """Start `python -m nrun.exec.experiment <directory>` in its own session; return its id."""
    with open_private(directory / LOG) as log:
        proc = Background(
            [sys.executable, "-m", "nrun.exec.experiment", str(directory)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
    _launchers[proc.pid] = proc
    launcher = {"pid": proc.pid, "start": start_time(proc.pid), "host": socket.gethostname()}
    update_json(directory / META, launcher=launcher)
    return launcher


def _reap() -> None:
    for pid, proc in list(_launchers.items()):
        if proc.poll() is not None:
            del _launchers[pid]


def launcher_alive(meta: Mapping[str, Any]) -> bool:
    """Whether the experiment's launcher may still launch (or is still finishing)."""
    _reap()
    launcher = meta.get("launcher")
    if not meta.get("launched") or meta.get("finished") or not launcher:
        return False
    if launcher.get("host", socket.gethostname()) != socket.gethostname():
        return True  # another machine's process: only it can say
    return process_alive(int(launcher["pid"]), launcher.get("start"))


def gone_reason(meta: Mapping[str, Any]) -> str | None:
    """Why the tasks not launched yet never will be, or None while they still may be."""
    launcher = meta.get("launcher")
    if not meta.get("launched") or not launcher or launcher_alive(meta):
        return None
    pid = launcher.get("pid")
    if meta.get("finished"):
        return f"launcher {pid} stopped before launching it"
    return f"launcher {pid} died before launching it"


def mark_orphans(
    directory: Path, tasks: Mapping[str, TaskRecord], statuses: dict[str, JobStatus]
) -> dict[str, JobStatus]:
    """Mark CANCELLED (best effort) the unlaunched tasks of a launcher that is gone."""
    if all(status.state.final for status in statuses.values()):
        return statuses
    # the launcher first: once it is gone, a task it had not launched never will be
    reason = gone_reason(read_json(directory / META) or {})
    if reason is None:
        return statuses
    for name, status in statuses.items():
        if not status.state.final and tasks[name].job_id is None:
            cancelled = JobStatus(JobState.CANCELLED, reason=reason)
            statuses[name] = tasks[name].record_status(cancelled, strict=False)
    return statuses
