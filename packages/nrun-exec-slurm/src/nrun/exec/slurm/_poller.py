"""One status query per cluster for all the waiters of a process, backing off while nothing moves.

Waiters (`Experiment`'s loop, `status()`, `batch_status()`, `logs(follow=True)`) ask as often as
they like; a cluster's `Poller` answers from what it last saw unless that is older than its
interval, and then asks squeue + sacct once about every job any waiter of this process follows
on that cluster. The interval starts at `FIRST` (0.5 s) and grows by `GROWTH` after each answer
in which no job changed state, up to `LONGEST` (60 s); a change, a job it has not seen, or
`reset()` (after sbatch or scancel) brings it back to `FIRST`. That is submitit's watcher: one
batched command per cluster, frequent while things happen, rare while jobs just run.
"""

from __future__ import annotations

import collections
import dataclasses
import os
import shlex
import threading
import time
from collections.abc import Sequence

from nrun.exec.base import JobState, JobStatus
from nrun.exec.slurm._status import (
    QUERY_SEPARATOR,
    Row,
    parse_rows,
    query_command,
    query_ids,
    summarize,
)
from nrun.exec.slurm._tunnel import Tunnel, TunnelError

__all__ = ["FIRST", "GROWTH", "LONGEST", "Backoff", "Poller", "poller", "query", "schedule"]

FIRST = 0.5
"""Seconds between queries after a change (and at first)."""
GROWTH = 1.5
"""How much the interval grows after a query that saw no change."""
LONGEST = 60.0
"""The longest interval: a change nobody caused shows at most this late."""
FORGET = 600.0
"""A job no waiter asked about for this long is no longer queried."""

Target = tuple[str, Sequence[str]]
"""A job to ask about: its id (`12`, or `12_3` for one array element) and its array indices."""


class Backoff:
    """An interval that grows while nothing changes and starts over when something does."""

    def __init__(self, first: float = FIRST, longest: float = LONGEST, growth: float = GROWTH):
        self.first, self.longest, self.growth = first, longest, growth
        self.interval = first

    def next(self, changed: bool) -> float:
        """The interval to wait now: `first` after a change, else the last one grown."""
        if changed:
            self.interval = self.first
        else:
            self.interval = min(self.longest, self.interval * self.growth)
        return self.interval


def schedule(seconds: float, first: float = FIRST) -> list[float]:
    """When a poller queries over `seconds` in which no job changes state (0 is the first)."""
    times, backoff, at = [0.0], Backoff(first), 0.0
    wait = first
    while at + wait <= seconds:
        at += wait
        times.append(at)
        wait = backoff.next(False)
    return times


@dataclasses.dataclass
class _Watched:
    expected: tuple[str, ...]
    asked: float
    status: JobStatus | None = None


class Poller:
    """The states of one cluster's jobs, shared by every waiter in this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[str, _Watched] = {}
        self._backoff = Backoff()
        self._last = float("-inf")
        self.queries = 0
        """squeue + sacct commands sent so far."""
        self.history: collections.deque[tuple[float, float, bool]] = collections.deque(maxlen=500)
        """(monotonic time, interval after it, whether a state changed) of the last queries."""

    @property
    def interval(self) -> float:
        """Seconds until the next query (from the last one)."""
        return self._backoff.interval

    def statuses(self, tunnel: Tunnel, targets: Sequence[Target]) -> list[JobStatus]:
        """The jobs' statuses: as last seen, or asked now when that is older than the interval.

        Raises the tunnel's error when the cluster does not answer.
        """
        with self._lock:
            now = time.monotonic()
            for job_id, expected in targets:
                watched = self._jobs.get(job_id)
                if watched is None:
                    self._jobs[job_id] = _Watched(tuple(expected), now)
                else:
                    watched.asked = now
            unseen = any(self._jobs[job_id].status is None for job_id, _ in targets)
            if unseen or now - self._last >= self._backoff.interval:
                self._update(tunnel, now)
            found = [self._jobs[job_id].status for job_id, _ in targets]
        return [status or JobStatus(JobState.UNKNOWN) for status in found]

    def reset(self, submitted: Sequence[Target] = ()) -> None:
        """Something was just done to the jobs (sbatch, scancel): ask at the next call.

        `submitted` jobs are followed from now on, so the next query asks about all of them at
        once rather than one query for each as its first waiter comes.
        """
        with self._lock:
            now = time.monotonic()
            for job_id, expected in submitted:
                self._jobs.setdefault(job_id, _Watched(tuple(expected), now))
            self._backoff.interval = FIRST
            self._last = float("-inf")

    def _update(self, tunnel: Tunnel, now: float) -> None:
        self._jobs = {k: w for k, w in self._jobs.items() if now - w.asked < FORGET}
        live = [
            (job_id, watched)
            for job_id, watched in self._jobs.items()
            if watched.status is None or not watched.status.state.final
        ]
        found = query(tunnel, [(job_id, watched.expected) for job_id, watched in live])
        changed = False
        for (_, watched), status in zip(live, found, strict=True):
            if watched.status is None or watched.status.state != status.state:
                changed = True
            watched.status = status
        self.queries += 1
        self._last = time.monotonic()
        self.history.append((self._last, self._backoff.next(changed), changed))


_pollers: dict[str, Poller] = {}
_pollers_lock = threading.Lock()


def poller(tunnel: Tunnel) -> Poller:
    """The poller of the cluster `tunnel` reaches (by its key: one per login node and account)."""
    with _pollers_lock:
        return _pollers.setdefault(tunnel.key, Poller())


def _forget_in_child() -> None:
    """A forked child starts with no poller: the parent's locks may be held by its threads."""
    global _pollers_lock
    _pollers.clear()
    _pollers_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_in_child)


def query(tunnel: Tunnel, targets: Sequence[Target]) -> list[JobStatus]:
    """One round trip: squeue for live jobs, then sacct; scontrol for jobs neither knows.

    Neither knows a job when accounting is off, or has not recorded it yet (array elements
    show there a while after their end): then scontrol is a second round trip.
    """
    if not targets:
        return []
    done = tunnel.run(query_command(query_ids(job_id for job_id, _ in targets)))
    live_text, separator, acct_text = done.stdout.partition(QUERY_SEPARATOR)
    if not separator:
        raise TunnelError(f"squeue/sacct did not answer: {done.first_error()}")
    rows = parse_rows(live_text, live=True)
    accounting = done.returncode == 0
    if not accounting and "not found" in done.stderr:
        raise TunnelError(f"Slurm's commands are missing on {tunnel.key}: {done.first_error()}")
    if accounting:
        rows += parse_rows(acct_text, live=False)
    results = [summarize(job_id, rows, expected) for job_id, expected in targets]
    missing = [job_id for (job_id, _), s in zip(targets, results, strict=True) if s is None]
    if missing:  # no accounting, or it lags (array elements appear there a while after the end)
        rows += _scontrol(tunnel, missing)
        results = [
            status or summarize(job_id, rows, expected)
            for status, (job_id, expected) in zip(results, targets, strict=True)
        ]
    return [
        status
        or JobStatus(
            JobState.RUNNING, reason="finished; waiting for Slurm's accounting to record it"
        )
        for status in results
    ]


def _scontrol(tunnel: Tunnel, job_ids: list[str]) -> list[Row]:
    """Rows from `scontrol show job` (it knows a job until MinJobAge after its end)."""
    q = " ".join(shlex.quote(j) for j in job_ids)
    done = tunnel.run(f'for id in {q}; do scontrol --oneliner show job "$id" 2>/dev/null; done')
    rows = []
    for line in done.stdout.splitlines():
        fields = dict(part.split("=", 1) for part in line.split() if "=" in part)
        job = fields.get("ArrayJobId") or fields.get("HetJobId") or fields.get("JobId", "")
        element = fields.get("ArrayTaskId", "")
        if fields.get("HetJobOffset"):
            element = f"+{fields['HetJobOffset']}"
        state = fields.get("JobState", "")
        if not job or not state:
            continue
        rows.append(
            Row(
                job,
                element,
                state,
                fields.get("Reason", ""),
                fields.get("ExitCode", ""),
                live=False,
            )
        )
    return rows
