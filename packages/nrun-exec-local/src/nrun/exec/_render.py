"""How an experiment shows itself: the rich table of its tasks, and the report of failures.

`tasks_table` is what `Experiment.show` prints (state, job id, executor, times, exit code,
reason); `report_failures` what an attached `run` prints to stderr when it ends.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from nrun.exec._tasks import TaskRecord
from nrun.exec.base import STATE_COLORS, ExecutorError, JobState, JobStatus

if TYPE_CHECKING:
    from rich.table import Table

__all__ = ["report_failures", "tasks_table", "times"]

_COLUMNS = ("task", "state", "job id", "executor", "started", "duration", "exit", "reason")


def times(record: Mapping[str, Any]) -> tuple[float | None, float | None]:
    """When a task started running (else was launched) and when it ended, from its record."""
    started = ended = None
    for entry in record.get("states", []):
        if entry["state"] == "RUNNING" and started is None:
            started = entry["time"]
        if JobState(entry["state"]).final:
            ended = entry["time"]
    if started is None and record.get("launched"):
        started = record["launched"]
    return started, ended


def tasks_table(
    experiment_id: str, tasks: Mapping[str, TaskRecord], statuses: Mapping[str, JobStatus]
) -> Table:
    """One row per task, in `statuses`' order."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"Experiment {experiment_id}", title_justify="left")
    for column in _COLUMNS:
        # only the free text wraps; states, ids and times stay whole
        table.add_column(
            column,
            overflow="fold",
            no_wrap=column not in ("reason", "executor"),
            min_width=len(column),
        )
    for name, status in statuses.items():
        record = tasks[name].record
        started, ended = times(record)
        duration = "" if started is None else f"{(ended or time.time()) - started:.1f}s"
        table.add_row(
            name,
            f"[{STATE_COLORS[status.state]}]{status.state.value}[/]",
            record.get("job_id") or "",
            escape(tasks[name].executor.describe()),
            "" if started is None else time.strftime("%H:%M:%S", time.localtime(started)),
            duration,
            "" if status.exit_code is None else str(status.exit_code),
            escape(status.reason),  # free text: `[x]` in it is not markup
        )
    return table


def report_failures(
    tasks: Mapping[str, TaskRecord], statuses: Mapping[str, JobStatus], lines: int = 10
) -> None:
    """Print each failed task's reason and the end of its log to stderr."""
    for name, status in statuses.items():
        if status.state != JobState.FAILED:
            continue
        print(f"task '{name}' FAILED: {status.reason or 'no reason given'}", file=sys.stderr)
        job_id = tasks[name].job_id
        if job_id is None:
            continue
        try:
            tail = list(tasks[name].executor.logs(job_id))[-lines:]
        except ExecutorError:
            continue
        if tail:
            print(f"  the end of its log ({len(tail)} lines):", file=sys.stderr)
            for line in tail:
                print(f"  | {line}", file=sys.stderr)
