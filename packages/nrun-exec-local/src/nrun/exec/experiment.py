"""`Experiment`: a titled group of tasks, launched together and recorded so it can be reopened.

```python
with Experiment("sweep") as exp:
    exp.add(Partial(train, lr=1e-3), name="small")
    exp.add(Partial(evaluate), name="eval", dependencies=["small"])
    exp.run()
```

Everything is recorded under `$NRUN_HOME/experiments/<title>/<id>/`, owner-only;
`Experiment.from_id(id)` rebuilds it in another process, where `status`, `logs` and `cancel`
still work. The pieces are private modules: task records (`_tasks`), the scheduler
(`_scheduler`), launchers and what a reader does when one dies (`_launcher`), the detached
launcher (`_detached`, run as `python -m nrun.exec.experiment <dir>`), log tails (`_tail`), the
table and failure report (`_render`) and the store's queries (`nrun.exec.store`).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import shutil
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from nrun.config import did_you_mean
from nrun.exec._launcher import launcher_alive, mark_orphans, me, start_detached
from nrun.exec._render import report_failures, tasks_table
from nrun.exec._scheduler import run_tasks
from nrun.exec._tasks import TaskRecord, cancel_tasks, open_tasks, poll_interval, refresh_all
from nrun.exec.base import Executor, Job, JobState, JobStatus, Preview
from nrun.exec.plugins import ExperimentPlugin
from nrun.exec.store import (
    META,
    ExperimentError,
    check_name,
    experiment_dir,
    experiment_summaries,
    experiments_root,
    latest_experiment_dir,
    new_experiment_id,
    read_json,
    record_task,
    update_json,
)

__all__ = ["Experiment", "ExperimentError", "Preview", "preview"]


def _did_you_mean(name: str, names: Sequence[str]) -> str:
    return did_you_mean(name, names) or f" Tasks: {', '.join(names) or 'none'}."


class Experiment:
    """A titled group of tasks run sequentially, concurrently, or in dependency order."""

    def __init__(
        self,
        title: str,
        *,
        executor: Executor | None = None,
        plugins: Sequence[ExperimentPlugin] = (),
    ):
        self.title = check_name("experiment title", title)
        self.executor = executor
        self.plugins = list(plugins)
        self._id = new_experiment_id(title)
        self._dir: Path | None = None
        self._tasks: dict[str, TaskRecord] = {}

    # -- identity and records --------------------------------------------------------------------
    @property
    def id(self) -> str:
        """The experiment's unique id (`<title>_<time>_<random>`)."""
        return self._id

    @property
    def dir(self) -> Path:
        """The experiment's folder in the store (made when the first task is added)."""
        if self._dir is None:
            self._dir = experiments_root() / self.title / self._id
        return self._dir

    @property
    def tasks(self) -> list[str]:
        """The names of the tasks, in the order they were added."""
        return list(self._tasks)

    def _meta(self) -> dict[str, Any]:
        return read_json(self.dir / META) or {}

    def _write_meta(self, **changes: Any) -> None:
        update_json(self.dir / META, **changes)

    def __enter__(self) -> Experiment:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def __repr__(self) -> str:
        return f"Experiment({self.title!r}, id={self.id!r}, tasks={self.tasks})"

    # -- building --------------------------------------------------------------------------------
    def add(
        self,
        task: Any,
        *,
        executor: Executor | None = None,
        name: str | None = None,
        dependencies: Sequence[str] = (),
        plugins: Sequence[ExperimentPlugin] = (),
    ) -> str:
        """Add a task (a `Partial`/`Config`, or a function run with its defaults); return its id.

        The task and its executor are copied, changed by the plugins, checked, and recorded in
        the store at once, so a task that cannot be exported fails here, not at launch; a task
        that fails here leaves nothing behind.
        """
        prepared = self._prepare(task, executor, name, dependencies, plugins)
        name, task_dir, executor, files = prepared
        job = {
            "name": name,
            "executor": executor.name or type(executor).__name__,
            "dependencies": list(dependencies),
        }
        meta = {"title": self.title, "id": self.id, "tasks": [*self.tasks, name]}
        record_task(self.dir, name, files, job, meta)
        self._tasks[name] = TaskRecord(name, task_dir, executor, list(dependencies))
        return name

    def _prepare(
        self,
        task: Any,
        executor: Executor | None,
        name: str | None,
        dependencies: Sequence[str],
        plugins: Sequence[ExperimentPlugin],
    ) -> tuple[str, Path, Executor, dict[str, str]]:
        """The task's name, folder, executor (job dir set, checked) and files; nothing written.

        `add` records them; `preview` shows what the executor would do with them.
        """
        from nrun.config import dumps, from_signature, is_buildable, missing_arguments, to_buildable

        if self._meta().get("launched"):
            raise ExperimentError(f"experiment '{self.id}' has already run; add tasks before run()")
        if not is_buildable(task):
            if not callable(task):
                raise ExperimentError(f"a task is a Partial, a Config or a function, not {task!r}")
            task = from_signature(task)
        task = copy.deepcopy(task)
        name = self._task_name(task, name)
        for dep in dependencies:
            if dep not in self._tasks:
                raise ExperimentError(
                    f"task '{name}' depends on '{dep}', which is not in the experiment "
                    "(add it first)." + _did_you_mean(dep, self.tasks)
                )
        executor = copy.deepcopy(executor or self.executor or _default_executor())
        for plugin in [*self.plugins, *plugins]:
            plugin.setup(task, executor)
        missing = missing_arguments(task)
        if missing:
            raise ExperimentError(
                f"task '{name}' is missing required argument(s): {', '.join(missing)}"
            )
        task_dir = self.dir / "tasks" / name
        base_job_dir = executor.job_dir
        executor.job_dir = (
            str(Path(base_job_dir) / self.id / name) if base_job_dir else str(task_dir.resolve())
        )
        executor.validate()
        # everything that can fail for the task itself fails before anything is written
        files = {"task.yaml": dumps(task), "executor.yaml": dumps(to_buildable(executor))}
        return name, task_dir, executor, files

    def _task_name(self, task: Any, name: str | None) -> str:
        base = getattr(task.__fn_or_cls__, "__name__", "task")
        if not base.isidentifier():  # a lambda: the export says what is wrong with it
            base = "task"
        if name is None:
            name, n = base, 1
            while name in self._tasks:
                n += 1
                name = f"{base}-{n}"
        check_name("task name", name)
        if name in self._tasks:
            raise ExperimentError(f"experiment already has a task named '{name}'")
        return name

    # -- running ---------------------------------------------------------------------------------
    def run(
        self,
        *,
        sequential: bool = False,
        detach: bool = False,
        tail_logs: bool = False,
        max_concurrent: int | None = None,
    ) -> None:
        """Launch the tasks: one after another, or all at once (in dependency order).

        A task whose dependency fails (or, when sequential, any earlier task) is cancelled
        without being launched. With `detach`, a background process does the launching and
        this returns at once; otherwise it returns when every task has finished, printing
        their output as it comes with `tail_logs`. Ctrl-C cancels what is still running.
        Either launcher records itself, so if it dies, readers cancel what it never launched.
        """
        if not self._tasks:
            raise ExperimentError(f"experiment '{self.id}' has no tasks to run")
        if self._meta().get("launched"):
            raise ExperimentError(f"experiment '{self.id}' has already run")
        if max_concurrent is not None and max_concurrent < 1:
            raise ExperimentError(f"max_concurrent must be at least 1, got {max_concurrent}")
        # this process is the launcher until (detached) it hands over to its child
        self._write_meta(
            launched=time.time(),
            sequential=sequential,
            max_concurrent=max_concurrent,
            launcher=me(),
        )
        if detach:
            start_detached(self.dir)
            return
        run_tasks(self.dir, self.id, self._tasks, tail_logs=tail_logs)
        report_failures(self._tasks, self.statuses())

    def preview(self) -> list[Preview]:
        """What `run()` would start for each task (command, container, sbatch script); runs none.

        This is a dry run of an experiment built task by task: `discard()` then removes the
        record `add` made.
        """
        from nrun.config import load

        return [
            _masked_preview(self.id, t.name, load(t.dir / "task.yaml"), t.dir, t.executor)
            for t in self._tasks.values()
        ]

    def discard(self) -> None:
        """Remove the record of an experiment that has not run (after a dry run of it)."""
        if self._meta().get("launched"):
            raise ExperimentError(f"experiment '{self.id}' has run: its record stays")
        shutil.rmtree(self.dir, ignore_errors=True)
        with contextlib.suppress(OSError):
            self.dir.parent.rmdir()  # the title's folder, if this was its only experiment
        self._tasks.clear()

    # -- following -------------------------------------------------------------------------------
    def _task(self, name: str) -> TaskRecord:
        if name not in self._tasks:
            raise ExperimentError(
                f"experiment '{self.id}' has no task '{name}'." + _did_you_mean(name, self.tasks)
            )
        return self._tasks[name]

    def statuses(self) -> dict[str, JobStatus]:
        """Each task's status (state, exit code, reason), asking the executors about live jobs.

        Tasks a dead launcher never launched are recorded CANCELLED here. It reads on a full
        disk too: what cannot be recorded now is recorded by the next reader who can.
        """
        statuses = refresh_all(list(self._tasks.values()), strict=False)
        return mark_orphans(self.dir, self._tasks, statuses)

    def status(self) -> dict[str, JobState]:
        """`{task name: JobState}`, live."""
        return {name: status.state for name, status in self.statuses().items()}

    def wait(self, timeout: float | None = None) -> dict[str, JobState]:
        """Wait until every task has finished (or `timeout` seconds); return the states."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            states = self.status()
            done = all(s.final for s in states.values())
            if done and not launcher_alive(self._meta()):
                return states
            if deadline is not None and time.monotonic() > deadline:
                return states
            time.sleep(poll_interval(list(self._tasks.values())))

    def logs(self, task: str, *, follow: bool = False) -> Any:
        """The task's output: all of it as text, or (with `follow`) an iterator of lines."""
        record = self._task(task)
        job_id = record.job_id
        if job_id is None:
            if not follow:
                return ""
            return self._follow_unlaunched(record)
        lines = record.executor.logs(job_id, follow=follow)
        return lines if follow else "\n".join(lines)

    def _follow_unlaunched(self, task: TaskRecord) -> Iterator[str]:
        while task.job_id is None:
            if task.refresh(strict=False).state.final:
                return
            if mark_orphans(self.dir, self._tasks, {task.name: task.recorded()})[
                task.name
            ].state.final:
                return
            time.sleep(task.executor.poll_interval)
        yield from task.executor.logs(task.job_id, follow=True)

    def cancel(self, task: str | None = None) -> None:
        """Cancel one task (or every unfinished one); tasks not launched yet never will be.

        Unlaunched tasks are marked first, so nothing starts meanwhile; running jobs are then
        stopped together (`Executor.batch_cancel`), so their grace periods overlap instead of
        adding up.
        """
        names = [task] if task is not None else self.tasks
        cancel_tasks([self._task(name) for name in names])

    def show(self, console: Any = None) -> None:
        """Print the tasks as a table: state, job id, executor, times, exit code."""
        from rich.console import Console

        (console or Console()).print(tasks_table(self.id, self._tasks, self.statuses()))

    # -- reopening -------------------------------------------------------------------------------
    @classmethod
    def _open(cls, directory: Path) -> Experiment:
        meta = read_json(directory / META)
        if meta is None:
            raise ExperimentError(f"'{directory}' holds no experiment")
        experiment = cls.__new__(cls)
        experiment.title = meta["title"]
        experiment.executor = None
        experiment.plugins = []
        experiment._id = meta["id"]
        experiment._dir = directory
        experiment._tasks = open_tasks(directory, meta.get("tasks", []))
        return experiment

    @classmethod
    def from_id(cls, experiment_id: str) -> Experiment:
        """Reopen a recorded experiment by its id."""
        return cls._open(experiment_dir(experiment_id))

    @classmethod
    def from_title(cls, title: str) -> Experiment:
        """Reopen the latest experiment with this title."""
        return cls._open(latest_experiment_dir(title))

    @classmethod
    def list(cls, title: str | None = None) -> list[dict[str, Any]]:
        """Summaries of recorded experiments (newest first): id, title, created, tasks, dir."""
        return experiment_summaries(title)


def preview(
    tasks: Sequence[tuple[str, Any]],
    executor: Executor,
    *,
    name: str = "dryrun",
    plugins: Sequence[ExperimentPlugin] = (),
) -> list[Preview]:
    """What launching `tasks` (name, config) on `executor` would run, per task; writes nothing.

    Each job is prepared as `Experiment.add` and a launch would (copied, plugins applied,
    checked, its job dir set) and shown by its executor's `preview`: the command, container
    or sbatch script it would start. Secrets are masked: values of secret names in the
    executor's environment, and secret values of the task's config wherever they appear.
    """
    experiment = Experiment(name, executor=executor, plugins=plugins)
    shown = []
    for task_name, task in tasks:
        named, task_dir, prepared, _ = experiment._prepare(task, None, task_name, (), ())
        shown.append(_masked_preview(experiment.id, named, task, task_dir, prepared))
        experiment._tasks[named] = TaskRecord(named, task_dir, prepared, [])
    return shown


def _masked_preview(
    experiment_id: str, name: str, task: Any, task_dir: Path, executor: Executor
) -> Preview:
    """The executor's preview of one task, with the task's and the environment's secrets out."""
    from nrun.config.secrets import mask_text, secret_values

    found = executor.preview(Job(name, task_dir / "task.yaml", experiment_id=experiment_id))
    hidden = [*secret_values(task), *secret_values(executor.env_vars)]
    return dataclasses.replace(found, task=name, text=mask_text(found.text, hidden))


def _default_executor() -> Executor:
    from nrun.exec.local import LocalExecutor

    return LocalExecutor()


if __name__ == "__main__":
    from nrun.exec._detached import main

    sys.exit(main(sys.argv[1:]))
