"""The last line of each task's log, read cheaply for `nrun.exec.watch`.

A local job's log (`output.log` in its job dir) is read from its end, and only when its size or
time changed. Any other executor's log (a container's, a Slurm job's on the cluster) is asked
of the executor (`Executor.logs`) in rotation: at most `REMOTE_READS` per refresh, the least
recently read first, each at most every `REMOTE_EVERY` seconds while it runs, and once more
when it has ended.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path

from nrun.exec._supervisor import OUTPUT
from nrun.exec._tasks import TaskRecord
from nrun.exec.base import ExecutorError, JobState, JobStatus

__all__ = ["REMOTE_EVERY", "REMOTE_READS", "TAIL_BYTES", "LastLines", "last_line"]

TAIL_BYTES = 8192
"""How much of a log's end is read for its last line."""
REMOTE_READS = 2
"""Logs that are not on this machine read per refresh, at most."""
REMOTE_EVERY = 10.0
"""Seconds between two reads of one running job's remote log, at least."""
_LONGEST = 300
"""Characters of a last line kept."""


def last_line(data: bytes) -> str:
    """The last line of `data` with something in it (a progress bar's latest state).

    Control characters other than tabs and colour codes (`ESC`) are left out.
    """
    for line in reversed(data.decode("utf-8", errors="replace").splitlines()):
        if line.strip():
            kept = "".join(c for c in line.rstrip()[-_LONGEST:] if c >= " " or c in "\t\x1b")
            if kept.strip():
                return kept
    return ""


def _tail(path: Path, size: int) -> str:
    with open(path, "rb") as handle:
        handle.seek(max(0, size - TAIL_BYTES))
        return last_line(handle.read(TAIL_BYTES))


class LastLines:
    """Each task's last log line, kept up to date by `update` after every status refresh."""

    def __init__(self, reads: int = REMOTE_READS, every: float = REMOTE_EVERY):
        self.reads, self.every = reads, every
        self.lines: dict[str, str] = {}
        self.remote_reads = 0
        """How many logs were asked of their executors (not read from a file here)."""
        self._stamps: dict[str, tuple[int, int]] = {}
        self._read_at: dict[str, float] = {}
        self._done: set[str] = set()  # ended, and read since

    def get(self, name: str) -> str:
        """The last line seen of task `name`'s log ("" before any)."""
        return self.lines.get(name, "")

    def update(
        self,
        tasks: Mapping[str, TaskRecord],
        statuses: Mapping[str, JobStatus],
        *,
        seconds: float | None = None,
    ) -> None:
        """Read what changed: every file here; remote logs in rotation (`reads` of them).

        With `seconds`, every remote log due is read until that much time has gone (the last
        pass, when the experiment has ended).
        """
        from nrun.exec.local import LocalExecutor

        due: list[tuple[float, str]] = []
        for name, task in tasks.items():
            status = statuses.get(name)
            if name in self._done or status is None or task.job_id is None:
                continue
            if type(task.executor).logs is LocalExecutor.logs:  # its log is a file here
                self._read_file(name, Path(task.executor.job_dir).expanduser() / OUTPUT)
                if status.state.final:
                    self._done.add(name)
            elif status.state != JobState.PENDING:
                due.append((self._read_at.get(name, 0.0), name))
        now = time.monotonic()
        due.sort()  # the least recently read first
        if seconds is None:
            picked = [n for at, n in due if statuses[n].state.final or now - at >= self.every]
            picked = picked[: self.reads]
        else:
            picked = [n for _, n in due]
        deadline = now + (seconds or 0.0)
        for name in picked:
            if seconds is not None and time.monotonic() > deadline:
                break
            self._read_remote(tasks[name], final=statuses[name].state.final)

    def _read_file(self, name: str, path: Path) -> None:
        try:
            stat = os.stat(path)
            stamp = (stat.st_size, stat.st_mtime_ns)
            if self._stamps.get(name) != stamp:
                self.lines[name] = _tail(path, stat.st_size)
                self._stamps[name] = stamp
        except OSError:
            return  # not written yet, or removed: the line seen last stays

    def _read_remote(self, task: TaskRecord, *, final: bool) -> None:
        self._read_at[task.name] = time.monotonic()
        self.remote_reads += 1
        found = ""
        try:
            for line in task.executor.logs(task.job_id or ""):
                if line.strip():
                    found = line
        except (ExecutorError, OSError):
            return  # unreachable now: asked again in its turn
        if found:
            self.lines[task.name] = last_line(found.encode())
        if final:
            self._done.add(task.name)
