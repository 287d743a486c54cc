"""Job states from `squeue` (live jobs) and `sacct` (finished ones), for many jobs per call."""

from __future__ import annotations

import dataclasses
import re
import shlex
from collections.abc import Iterable, Sequence

from nrun.exec.base import ExecutorError, JobState, JobStatus
from nrun.exec.slurm._sbatch import array_indices

__all__ = [
    "NOT_STARTED",
    "QUERY_SEPARATOR",
    "Row",
    "parse_rows",
    "query_command",
    "query_ids",
    "summarize",
]

QUERY_SEPARATOR = "--nrun-sacct--"
NOT_STARTED = "cancelled before it started"
_ELEMENT = re.compile(r"(\d+)(?:_(\d+|\[[^\]]*\])|\+(\d+))?")

_LIVE = {
    "PENDING": JobState.PENDING,
    "CONFIGURING": JobState.PENDING,
    "REQUEUED": JobState.PENDING,
    "REQUEUE_HOLD": JobState.PENDING,
    "REQUEUE_FED": JobState.PENDING,
    "RESV_DEL_HOLD": JobState.PENDING,
    "RUNNING": JobState.RUNNING,
    "COMPLETING": JobState.RUNNING,
    "SUSPENDED": JobState.RUNNING,
    "STOPPED": JobState.RUNNING,
    "SIGNALING": JobState.RUNNING,
    "STAGE_OUT": JobState.RUNNING,
    "RESIZING": JobState.RUNNING,
}
_FINAL = {
    "COMPLETED": JobState.SUCCEEDED,
    "CANCELLED": JobState.CANCELLED,
    "FAILED": JobState.FAILED,
    "TIMEOUT": JobState.FAILED,
    "OUT_OF_MEMORY": JobState.FAILED,
    "NODE_FAIL": JobState.FAILED,
    "PREEMPTED": JobState.FAILED,
    "BOOT_FAIL": JobState.FAILED,
    "DEADLINE": JobState.FAILED,
    "REVOKED": JobState.CANCELLED,
    "SPECIAL_EXIT": JobState.FAILED,
}
_REASONS = {
    "TIMEOUT": "reached its time limit",
    "OUT_OF_MEMORY": "ran out of memory",
    "NODE_FAIL": "a node failed",
    "PREEMPTED": "preempted",
    "BOOT_FAIL": "a node failed to boot",
    "DEADLINE": "reached its deadline",
}


@dataclasses.dataclass(frozen=True)
class Row:
    """One line of squeue or sacct: a job, an array element or a hetjob component."""

    job: str
    element: str
    """The array index (`3`, or `[4-9]` for elements not started), `+N` of a hetjob, or ``."""
    state: str
    reason: str = ""
    exit_code: str = ""
    live: bool = True
    started: bool = True


def query_ids(job_ids: Iterable[str]) -> list[str]:
    """The ids to ask squeue and sacct about: an array element (`12_3`) is asked as its array."""
    return sorted({job_id.partition("_")[0] for job_id in job_ids}, key=_numeric)


def _numeric(job_id: str) -> tuple[int, str]:
    return (int(job_id), "") if job_id.isdigit() else (-1, job_id)


def query_command(job_ids: Sequence[str]) -> str:
    """One shell command asking squeue about live jobs, then sacct about all of them."""
    jobs = shlex.quote(",".join(job_ids))
    return (
        f"squeue --noheader --array --jobs={jobs} --format='%i|%T|%r' 2>/dev/null; "
        f"echo {QUERY_SEPARATOR}; "
        f"sacct --noheader --parsable2 --allocations --jobs={jobs} "
        "--format=JobID,State,ExitCode,Reason,Start"
    )


def parse_rows(text: str, live: bool) -> list[Row]:
    """Rows of `squeue --format='%i|%T|%r'` (live) or `sacct --parsable2` output."""
    rows = []
    for line in text.splitlines():
        fields = line.strip().split("|")
        if len(fields) < 3:
            continue
        match = _ELEMENT.fullmatch(fields[0])
        if not match:
            continue
        job, index, component = match.groups()
        element = index or (f"+{component}" if component is not None else "")
        state = (fields[1].split() or [""])[0]
        if live:
            rows.append(Row(job, element, state, fields[2]))
        else:
            reason = fields[3] if len(fields) > 3 else ""
            started = len(fields) < 5 or fields[4] not in ("", "None", "Unknown")
            rows.append(Row(job, element, state, reason, fields[2], live=False, started=started))
    return rows


def _exit_code(text: str) -> tuple[int | None, int]:
    """`3:0` → (3, 0); `0:9` (killed by signal 9) → (137, 9)."""
    code, _, signal = text.partition(":")
    if not code.isdigit():
        return None, 0
    sig = int(signal) if signal.isdigit() else 0
    return (128 + sig if sig and not int(code) else int(code)), sig


def _final(row: Row) -> JobStatus:
    state = _FINAL.get(row.state, JobState.FAILED)
    code, signal = _exit_code(row.exit_code)
    if state == JobState.SUCCEEDED:
        return JobStatus(state, code)
    if state == JobState.CANCELLED:
        if row.reason not in ("", "None"):
            return JobStatus(state, code, f"cancelled ({row.reason})")
        return JobStatus(state, code, "cancelled" if row.started else NOT_STARTED)
    if row.state in _REASONS:
        reason = f"{row.state}: {_REASONS[row.state]}"
    elif signal:
        reason = f"killed by signal {signal}"
    elif row.state == "FAILED" and code is not None:
        reason = f"exit code {code}"
    else:
        reason = row.state
    return JobStatus(state, code, reason)


def summarize(job_id: str, rows: Iterable[Row], expected: Sequence[str] = ()) -> JobStatus | None:
    """The status of one job from its rows; None when neither squeue nor sacct knows it yet.

    For an array, `expected` lists the element indices: it is final once all of them are, and
    FAILED if any element failed (the first one is named). `job_id` may name one element of an
    array (`12_3`): then only that element's rows count.
    """
    job, _, index = job_id.partition("_")
    mine = [row for row in rows if row.job == job]
    if index:
        mine = [dataclasses.replace(row, element="") for row in mine if _covers(row, index)]
    live = [row for row in mine if row.live]
    if live:
        states = {_LIVE.get(row.state, JobState.RUNNING) for row in live}
        if JobState.RUNNING in states:
            return JobStatus(JobState.RUNNING)
        reasons = {row.reason for row in live if row.reason and row.reason != "None"}
        return JobStatus(JobState.PENDING, reason=", ".join(sorted(reasons)))
    done: dict[str, Row] = {}
    for row in mine:
        if not row.element.startswith("["):
            done[row.element] = row
        elif row.state in _LIVE:
            return JobStatus(JobState.PENDING)  # elements not started yet
        else:  # elements that never started, e.g. `12_[2-5%2]` cancelled in the queue
            for number in _expand(row.element):
                done.setdefault(str(number), row)
    if not done:
        return None
    if any(row.state in _LIVE for row in done.values()):
        running = any(
            _LIVE[row.state] == JobState.RUNNING for row in done.values() if row.state in _LIVE
        )
        return JobStatus(JobState.RUNNING if running else JobState.PENDING)
    if expected and set(expected) - set(done):
        return JobStatus(JobState.RUNNING)  # accounting lags behind the last elements
    finals = {element: _final(row) for element, row in sorted(done.items(), key=_order)}
    leader = finals.get("+0")  # a hetjob's first component runs the script
    if len(finals) == 1 or (leader is not None and leader.state != JobState.SUCCEEDED):
        return leader or next(iter(finals.values()))
    for wanted in (JobState.FAILED, JobState.CANCELLED):
        for element, status in finals.items():
            if status.state == wanted:
                part = (
                    f"component {element[1:]}" if element.startswith("+") else f"element {element}"
                )
                return JobStatus(wanted, status.exit_code, f"{part}: {status.reason}")
    return JobStatus(JobState.SUCCEEDED, 0)


def _covers(row: Row, index: str) -> bool:
    """Whether the row is about array element `index` (alone, or in a range not started)."""
    if row.element.startswith("["):
        return index.isdigit() and int(index) in _expand(row.element)
    return row.element == index


def _expand(element: str) -> list[int]:
    """The indices of `[2-5%2]`, as `array_indices` reads them (none when unreadable)."""
    try:
        return array_indices(element.strip("[]"))
    except ExecutorError:
        return []


def _order(item: tuple[str, Row]) -> tuple[int, str]:
    element = item[0].lstrip("+")
    return (int(element) if element.isdigit() else -1, item[0])
