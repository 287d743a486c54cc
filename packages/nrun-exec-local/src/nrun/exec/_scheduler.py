"""The scheduler: launches an experiment's tasks in rounds and records what happens.

Each round it reads every task's status (one `batch_status` per kind of executor), cancels the
tasks whose dependencies failed, collects every task that is ready, and launches them with one
`Executor.launch_batch` call per kind of executor; job ids and launch failures are recorded
here, whatever the backend. A task whose dependency is launched in a round waits for the next
one (it needs that job id). It ends when every task is final, or on Ctrl-C (cancelling what is
still running), or when a record cannot be written (a full disk: `WriteError`, one line).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from nrun.config.atomic import WriteError
from nrun.exec._tail import tail
from nrun.exec._tasks import TaskRecord, cancel_tasks, poll_interval, refresh_all
from nrun.exec.base import Executor, ExecutorError, Job, JobState, JobStatus, as_executor_error
from nrun.exec.store import META, read_json, record_status, update_json

__all__ = ["run_tasks"]


def run_tasks(
    directory: Path, experiment_id: str, tasks: Mapping[str, TaskRecord], *, tail_logs: bool = False
) -> None:
    """Launch the tasks as `experiment.json` says (sequential, max_concurrent) until all end."""
    meta = read_json(directory / META) or {}
    sequential = bool(meta.get("sequential"))
    limit = 1 if sequential else meta.get("max_concurrent") or len(tasks)
    order = list(tasks)
    tails: list[threading.Thread] = []
    launched_last_round = False
    try:
        while True:
            if launched_last_round:  # nothing new to ask the executors yet: go on at once
                statuses = {name: task.recorded() for name, task in tasks.items()}
            else:
                statuses = refresh_all(list(tasks.values()))
            running = [n for n, s in statuses.items() if tasks[n].job_id and not s.state.final]
            waiting = [n for n, s in statuses.items() if not tasks[n].job_id and not s.state.final]
            if not waiting and not running:
                break
            ready: list[TaskRecord] = []
            for name in waiting:
                task = tasks[name]
                blockers = [*task.dependencies, *(order[: order.index(name)] if sequential else [])]
                failed = [
                    d
                    for d in blockers
                    if statuses[d].state.final and statuses[d].state != JobState.SUCCEEDED
                ]
                if failed:
                    why = f"dependency '{failed[0]}' {statuses[failed[0]].state.value.lower()}"
                    record_status(task.dir, JobStatus(JobState.CANCELLED, reason=why))
                    continue
                native = task.executor.supports_dependencies and not sequential
                if len(running) + len(ready) < limit and all(
                    statuses[d].state == JobState.SUCCEEDED
                    or (native and tasks[d].job_id is not None)
                    for d in blockers
                ):
                    ready.append(task)
            launch_round(experiment_id, tasks, ready)
            if tail_logs:
                tails.extend(tail(task) for task in ready if task.job_id)
            launched_last_round = bool(ready)
            if not ready:
                time.sleep(poll_interval(list(tasks.values())))
    except KeyboardInterrupt:
        cancel_tasks(list(tasks.values()))
        raise
    except Exception as exc:  # this launcher stops: what it never launched never will be
        _abandon(tasks, f"launcher stopped before launching it: {as_executor_error(exc)}")
        raise
    finally:
        for thread in tails:
            thread.join(timeout=2)
        # on a full disk this cannot be written either; the error that stopped us says why
        with contextlib.suppress(WriteError):
            update_json(directory / META, finished=time.time())


def launch_round(
    experiment_id: str, tasks: Mapping[str, TaskRecord], ready: Sequence[TaskRecord]
) -> None:
    """Launch `ready` with one `launch_batch` per kind of executor; record ids and failures.

    A job that was launched but cannot be recorded (a full disk) is cancelled, so nothing runs
    untracked; then the first such `WriteError` is raised.
    """
    groups: dict[type[Executor], list[TaskRecord]] = {}
    for task in ready:
        groups.setdefault(type(task.executor), []).append(task)
    unrecorded: list[WriteError] = []
    for kind, members in groups.items():
        batch = [
            (
                task.executor,
                Job(
                    task.name,
                    task.dir / "task.yaml",
                    dependencies=tuple(tasks[d].job_id or "" for d in task.dependencies),
                    experiment_id=experiment_id,
                ),
            )
            for task in members
        ]
        try:
            results: list[object] = list(kind.launch_batch(batch))
        except Exception as exc:  # a backend's own bug: every job of the batch failed
            results = [as_executor_error(exc)] * len(members)
        if len(results) != len(members):
            short = ExecutorError(
                f"{kind.__name__}.launch_batch answered {len(results)} of {len(members)} jobs"
            )
            results = [*results[: len(members)], *[short] * (len(members) - len(results))]
        for task, result in zip(members, results, strict=True):
            try:
                _record_launch(task, result)
            except WriteError as exc:
                unrecorded.append(exc)
                if isinstance(result, str):
                    with contextlib.suppress(Exception):
                        task.executor.cancel(result)
    if unrecorded:
        raise unrecorded[0]


def _record_launch(task: TaskRecord, result: object) -> None:
    if not isinstance(result, str):
        error = result if isinstance(result, Exception) else ExecutorError(repr(result))
        reason = f"launch failed: {as_executor_error(error)}"
        record_status(task.dir, JobStatus(JobState.FAILED, reason=reason))
        return
    record = record_status(
        task.dir, JobStatus(JobState.PENDING), job_id=result, launched=time.time()
    )
    if JobState(record["states"][-1]["state"]).final:  # cancelled while it was launching
        task.executor.cancel(result)


def _abandon(tasks: Mapping[str, TaskRecord], reason: str) -> None:
    """Cancel the tasks not launched yet, best effort (a full disk may refuse it too)."""
    for task in tasks.values():
        with contextlib.suppress(Exception):
            if task.job_id is None and not task.recorded().state.final:
                record_status(task.dir, JobStatus(JobState.CANCELLED, reason=reason))
