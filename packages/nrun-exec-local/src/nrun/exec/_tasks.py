"""The tasks of a recorded experiment: where each one's records are and the executor it runs on.

`TaskRecord` reads a task's `job.json` (caching what cannot change any more) and records what
its executor says; `refresh_all` asks each kind of executor once about all its live jobs;
`cancel_tasks` stops many at once. Readers record best effort: on a full disk they still answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nrun.config.atomic import WriteError
from nrun.exec.base import Executor, JobState, JobStatus
from nrun.exec.store import ExperimentError, record_status, task_record

__all__ = ["TaskRecord", "cancel_tasks", "open_tasks", "poll_interval", "refresh_all"]

_POLL = 0.05


class TaskRecord:
    """One task of an experiment: where its records are and the executor that runs it."""

    def __init__(self, name: str, directory: Path, executor: Executor, dependencies: list[str]):
        self.name = name
        self.dir = directory
        self.executor = executor
        self.dependencies = dependencies
        self._job_id: str | None = None
        self._final: JobStatus | None = None  # neither changes once known: no more reads

    @property
    def record(self) -> dict[str, Any]:
        """The task's `job.json`, read now."""
        return task_record(self.dir)

    @property
    def job_id(self) -> str | None:
        """The job id, once launched."""
        if self._job_id is None:
            self._job_id = self.record.get("job_id")
        return self._job_id

    def recorded(self) -> JobStatus:
        """The status as recorded (no executor asked)."""
        if self._final is not None:
            return self._final
        record = self.record
        self._job_id = self._job_id or record.get("job_id")
        state = JobState(record["states"][-1]["state"])
        status = JobStatus(state, record.get("exit_code"), record.get("reason", ""))
        if state.final:
            self._final = status
        return status

    @property
    def live(self) -> bool:
        """Launched and not known to have finished: worth asking its executor about."""
        return self.job_id is not None and not self.recorded().state.final

    def record_status(self, status: JobStatus, *, strict: bool = True) -> JobStatus:
        """Record `status` (a final one is never overwritten); return the status now.

        With `strict=False` (a reader), a record that cannot be written is not an error: the
        status is returned all the same and recorded by the next one who can.
        """
        try:
            record_status(self.dir, status)
        except WriteError:
            if strict:
                raise
            recorded = self.recorded()
            return recorded if recorded.state.final else status
        return self.recorded()

    def refresh(
        self,
        live: JobStatus | None = None,
        *,
        strict: bool = True,
        recorded: JobStatus | None = None,
    ) -> JobStatus:
        """Record the executor's view of a live job (`live`, or asked now), if it changed.

        `recorded` is the status just read from the record, when the caller has it.
        """
        recorded = recorded or self.recorded()
        job_id = self._job_id
        if recorded.state.final or job_id is None:
            return recorded
        if live is None:
            live = type(self.executor).batch_status([(self.executor, job_id)])[0]
        if live == recorded:
            return recorded
        return self.record_status(live, strict=strict)


def refresh_all(tasks: Sequence[TaskRecord], *, strict: bool = True) -> dict[str, JobStatus]:
    """Every task's status, asking each kind of executor once about all its live jobs.

    Each record is read once (not at all once final).
    """
    found = {task.name: task.recorded() for task in tasks}
    groups: dict[type[Executor], list[TaskRecord]] = {}
    for task in tasks:
        if task._job_id is not None and not found[task.name].state.final:  # live
            groups.setdefault(type(task.executor), []).append(task)
    for kind, members in groups.items():
        answers = kind.batch_status([(t.executor, t._job_id or "") for t in members])
        for task, status in zip(members, answers, strict=False):
            found[task.name] = task.refresh(status, strict=strict, recorded=found[task.name])
    return found


def poll_interval(tasks: Sequence[TaskRecord]) -> float:
    """How long to wait between checks: the shortest interval of the executors still busy."""
    busy = [t.executor.poll_interval for t in tasks if not t.recorded().state.final]
    return min(busy, default=_POLL)


def cancel_tasks(tasks: Sequence[TaskRecord]) -> None:
    """Cancel tasks; the unlaunched ones never start.

    Those are marked first, so nothing starts meanwhile; live jobs are then stopped together
    (`Executor.batch_cancel`), so their grace periods overlap instead of adding up.
    """
    live = []
    for task in tasks:
        if task.refresh().state.final:
            continue
        if task.job_id is None:
            task.record_status(JobStatus(JobState.CANCELLED, reason="cancelled"))
        else:
            live.append(task)
    groups: dict[type[Executor], list[TaskRecord]] = {}
    for task in live:
        groups.setdefault(type(task.executor), []).append(task)
    for kind, members in groups.items():
        found = kind.batch_cancel([(t.executor, t.job_id or "") for t in members])
        for task, status in zip(members, found, strict=True):
            record_status(task.dir, status)
            record_status(task.dir, JobStatus(JobState.CANCELLED, reason="cancelled"))


def open_tasks(directory: Path, names: Sequence[str]) -> dict[str, TaskRecord]:
    """The tasks `names` of the experiment in `directory`, their executors rebuilt from disk."""
    from nrun.config import ConfigError, build, load

    tasks = {}
    for name in names:
        task_dir = directory / "tasks" / name
        try:
            executor = build(load(task_dir / "executor.yaml"))
        except ConfigError as exc:
            raise ExperimentError(f"task '{name}': cannot rebuild its executor: {exc}") from None
        record = task_record(task_dir)
        tasks[name] = TaskRecord(name, task_dir, executor, record.get("dependencies", []))
    return tasks
