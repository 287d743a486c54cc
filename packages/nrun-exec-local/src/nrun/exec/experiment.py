"""`Experiment`: a titled group of tasks, launched together and recorded so it can be reopened.

```python
with Experiment("sweep") as exp:
    exp.add(Partial(train, lr=1e-3), name="small")
    exp.add(Partial(evaluate), name="eval", dependencies=["small"])
    exp.run()
```

Everything is recorded under `$NRUN_HOME/experiments/<title>/<id>/`; `Experiment.from_id(id)`
rebuilds it in another process, where `status`, `logs` and `cancel` still work.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from nrun.exec._supervisor import Background, process_alive, start_time
from nrun.exec.base import Executor, ExecutorError, Job, JobState, JobStatus
from nrun.exec.plugins import ExperimentPlugin
from nrun.exec.store import (
    ExperimentError,
    check_name,
    experiment_dir,
    experiments_root,
    new_experiment_id,
    read_json,
    record_status,
    task_record,
    update_json,
    write_json,
)

__all__ = ["Experiment", "ExperimentError"]

META = "experiment.json"
_POLL = 0.05
_launchers: dict[int, Background] = {}
"""Detached launchers this process started, reaped as they are polled."""


def _did_you_mean(name: str, names: Sequence[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, names, n=1)
    return f" Did you mean '{close[0]}'?" if close else f" Tasks: {', '.join(names) or 'none'}."


class _Task:
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
        return task_record(self.dir)

    @property
    def job_id(self) -> str | None:
        if self._job_id is None:
            self._job_id = self.record.get("job_id")
        return self._job_id

    def recorded(self) -> JobStatus:
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

    def refresh(self, live: JobStatus | None = None) -> JobStatus:
        """Record the executor's view of a live job (`live`, or asked now), if it changed."""
        recorded = self.recorded()
        job_id = self._job_id
        if recorded.state.final or job_id is None:
            return recorded
        if live is None:
            live = type(self.executor).batch_status([(self.executor, job_id)])[0]
        if live == recorded:
            return recorded
        record_status(self.dir, live)
        return self.recorded()


def _refresh_all(tasks: Sequence[_Task]) -> dict[str, JobStatus]:
    """Every task's status, asking each kind of executor once about all its live jobs."""
    groups: dict[type[Executor], list[_Task]] = {}
    for task in tasks:
        if task.live:
            groups.setdefault(type(task.executor), []).append(task)
    for kind, members in groups.items():
        found = kind.batch_status([(t.executor, t.job_id or "") for t in members])
        for task, status in zip(members, found, strict=False):
            task.refresh(status)
    return {task.name: task.recorded() for task in tasks}


def _poll_interval(tasks: Sequence[_Task]) -> float:
    """How long to wait between checks: the shortest interval of the executors still busy."""
    busy = [t.executor.poll_interval for t in tasks if not t.recorded().state.final]
    return min(busy, default=_POLL)


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
        self._tasks: dict[str, _Task] = {}

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
        the store at once, so a task that cannot be exported fails here, not at launch.
        """
        from nrun.config import dump, from_signature, missing_arguments, to_buildable

        if self._meta().get("launched"):
            raise ExperimentError(f"experiment '{self.id}' has already run; add tasks before run()")
        import fiddle as fdl

        if not isinstance(task, fdl.Buildable):
            if not callable(task):
                raise ExperimentError(f"a task is a Partial, a Config or a function, not {task!r}")
            task = from_signature(task)
        task = copy.deepcopy(task)
        base = getattr(task.__fn_or_cls__, "__name__", "task")
        if not base.isidentifier():  # a lambda: the export below says what is wrong with it
            base = "task"
        if name is None:
            name, n = base, 1
            while name in self._tasks:
                n += 1
                name = f"{base}-{n}"
        check_name("task name", name)
        if name in self._tasks:
            raise ExperimentError(f"experiment already has a task named '{name}'")
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
        task_dir.mkdir(parents=True, exist_ok=False)
        try:
            dump(task, task_dir / "task.yaml")
            dump(to_buildable(executor), task_dir / "executor.yaml")
        except Exception:
            import shutil

            shutil.rmtree(task_dir, ignore_errors=True)
            raise
        write_json(
            task_dir / "job.json",
            {
                "name": name,
                "executor": executor.name or type(executor).__name__,
                "dependencies": list(dependencies),
                "job_id": None,
                "states": [{"state": "PENDING", "time": time.time()}],
                "exit_code": None,
                "reason": "",
            },
        )
        self._tasks[name] = _Task(name, task_dir, executor, list(dependencies))
        self._write_meta(
            title=self.title,
            id=self.id,
            created=self._meta().get("created", time.time()),
            tasks=self.tasks,
        )
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
        """
        if not self._tasks:
            raise ExperimentError(f"experiment '{self.id}' has no tasks to run")
        if self._meta().get("launched"):
            raise ExperimentError(f"experiment '{self.id}' has already run")
        if max_concurrent is not None and max_concurrent < 1:
            raise ExperimentError(f"max_concurrent must be at least 1, got {max_concurrent}")
        self._write_meta(launched=time.time(), sequential=sequential, max_concurrent=max_concurrent)
        if detach:
            log = open(self.dir / "orchestrator.log", "ab")  # noqa: SIM115 - handed to the child
            with log:
                proc = Background(
                    [sys.executable, "-m", "nrun.exec.experiment", str(self.dir)],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                    start_new_session=True,
                )
            _launchers[proc.pid] = proc
            self._write_meta(orchestrator={"pid": proc.pid, "start": start_time(proc.pid)})
            return
        self._orchestrate(tail_logs=tail_logs)
        self._report_failures()

    def _report_failures(self, lines: int = 10) -> None:
        """Print each failed task's reason and the end of its log to stderr."""
        for name, status in self.statuses().items():
            if status.state != JobState.FAILED:
                continue
            print(f"task '{name}' FAILED: {status.reason or 'no reason given'}", file=sys.stderr)
            job_id = self._tasks[name].job_id
            if job_id is None:
                continue
            try:
                tail = list(self._tasks[name].executor.logs(job_id))[-lines:]
            except ExecutorError:
                continue
            if tail:
                print(f"  the end of its log ({len(tail)} lines):", file=sys.stderr)
                for line in tail:
                    print(f"  | {line}", file=sys.stderr)

    def _orchestrate(self, *, tail_logs: bool = False) -> None:
        meta = self._meta()
        sequential = bool(meta.get("sequential"))
        limit = 1 if sequential else meta.get("max_concurrent") or len(self._tasks)
        tails: list[threading.Thread] = []
        try:
            while True:
                statuses = _refresh_all(list(self._tasks.values()))
                running = [
                    n for n, s in statuses.items() if self._tasks[n].job_id and not s.state.final
                ]
                waiting = [
                    n
                    for n, s in statuses.items()
                    if not self._tasks[n].job_id and not s.state.final
                ]
                if not waiting and not running:
                    break
                for name in waiting:
                    task = self._tasks[name]
                    earlier = self.tasks[: self.tasks.index(name)] if sequential else []
                    blockers = [*task.dependencies, *earlier]
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
                    ready = all(
                        statuses[d].state == JobState.SUCCEEDED
                        or (native and self._tasks[d].job_id is not None)
                        for d in blockers
                    )
                    if ready and len(running) < limit:
                        self._launch(task)
                        running.append(name)
                        if tail_logs and task.job_id:
                            tails.append(_tail(task))
                time.sleep(_poll_interval(list(self._tasks.values())))
        except KeyboardInterrupt:
            self.cancel()
            raise
        finally:
            for thread in tails:
                thread.join(timeout=2)
            self._write_meta(finished=time.time())

    def _launch(self, task: _Task) -> None:
        deps = tuple(self._tasks[d].job_id or "" for d in task.dependencies)
        job = Job(task.name, task.dir / "task.yaml", dependencies=deps, experiment_id=self.id)
        try:
            job_id = task.executor.launch(job)
        except Exception as exc:
            reason = str(exc) if isinstance(exc, ExecutorError) else f"{type(exc).__name__}: {exc}"
            record_status(task.dir, JobStatus(JobState.FAILED, reason=f"launch failed: {reason}"))
            return
        record = record_status(
            task.dir, JobStatus(JobState.PENDING), job_id=job_id, launched=time.time()
        )
        if JobState(record["states"][-1]["state"]).final:  # cancelled while it was launching
            task.executor.cancel(job_id)

    # -- following -------------------------------------------------------------------------------
    def _task(self, name: str) -> _Task:
        if name not in self._tasks:
            raise ExperimentError(
                f"experiment '{self.id}' has no task '{name}'." + _did_you_mean(name, self.tasks)
            )
        return self._tasks[name]

    def _orchestrator_alive(self) -> bool:
        for pid, proc in list(_launchers.items()):
            if proc.poll() is not None:
                del _launchers[pid]
        orchestrator = self._meta().get("orchestrator")
        if not orchestrator or self._meta().get("finished"):
            return False
        return process_alive(orchestrator["pid"], orchestrator.get("start"))

    def statuses(self) -> dict[str, JobStatus]:
        """Each task's status (state, exit code, reason), asking the executors about live jobs."""
        statuses = _refresh_all(list(self._tasks.values()))
        launched = self._meta().get("launched")
        if launched and not self._orchestrator_alive() and self._meta().get("orchestrator"):
            for name, status in statuses.items():
                task = self._tasks[name]
                if (
                    task.job_id is None
                    and not status.state.final
                    and not self._meta().get("finished")
                ):
                    # the background launcher died before launching it: nothing ever will
                    record_status(
                        task.dir, JobStatus(JobState.CANCELLED, reason="launcher stopped")
                    )
                    statuses[name] = task.recorded()
        return statuses

    def status(self) -> dict[str, JobState]:
        """`{task name: JobState}`, live."""
        return {name: status.state for name, status in self.statuses().items()}

    def wait(self, timeout: float | None = None) -> dict[str, JobState]:
        """Wait until every task has finished (or `timeout` seconds); return the states."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            states = self.status()
            done = all(s.final for s in states.values())
            if done and not self._orchestrator_alive():
                return states
            if deadline is not None and time.monotonic() > deadline:
                return states
            time.sleep(_poll_interval(list(self._tasks.values())))

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

    def _follow_unlaunched(self, task: _Task) -> Iterator[str]:
        while task.job_id is None:
            if task.refresh().state.final:
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
        live = []
        for record in [self._task(name) for name in names]:
            if record.refresh().state.final:
                continue
            if record.job_id is None:
                record_status(record.dir, JobStatus(JobState.CANCELLED, reason="cancelled"))
            else:
                live.append(record)

        groups: dict[type[Executor], list[_Task]] = {}
        for record in live:
            groups.setdefault(type(record.executor), []).append(record)
        for kind, members in groups.items():
            found = kind.batch_cancel([(r.executor, r.job_id or "") for r in members])
            for record, status in zip(members, found, strict=True):
                record_status(record.dir, status)
                record_status(record.dir, JobStatus(JobState.CANCELLED, reason="cancelled"))

    def show(self, console: Any = None) -> None:
        """Print the tasks as a table: state, job id, executor, times, exit code."""
        from rich.console import Console
        from rich.markup import escape
        from rich.table import Table

        statuses = self.statuses()
        table = Table(title=f"Experiment {self.id}", title_justify="left")
        for column in (
            "task",
            "state",
            "job id",
            "executor",
            "started",
            "duration",
            "exit",
            "reason",
        ):
            # only the free text wraps; states, ids and times stay whole
            table.add_column(
                column,
                overflow="fold",
                no_wrap=column not in ("reason", "executor"),
                min_width=len(column),
            )
        colors = {"SUCCEEDED": "green", "FAILED": "red", "CANCELLED": "yellow", "RUNNING": "cyan"}
        for name, status in statuses.items():
            record = self._tasks[name].record
            started, ended = _times(record)
            duration = "" if started is None else f"{(ended or time.time()) - started:.1f}s"
            state = status.state.value
            table.add_row(
                name,
                f"[{colors.get(state, 'white')}]{state}[/]",
                record.get("job_id") or "",
                escape(self._tasks[name].executor.describe()),
                "" if started is None else time.strftime("%H:%M:%S", time.localtime(started)),
                duration,
                "" if status.exit_code is None else str(status.exit_code),
                escape(status.reason),  # free text: `[x]` in it is not markup
            )
        (console or Console()).print(table)

    # -- reopening -------------------------------------------------------------------------------
    @classmethod
    def _open(cls, directory: Path) -> Experiment:
        from nrun.config import ConfigError, build, load

        meta = read_json(directory / META)
        if meta is None:
            raise ExperimentError(f"'{directory}' holds no experiment")
        experiment = cls.__new__(cls)
        experiment.title = meta["title"]
        experiment.executor = None
        experiment.plugins = []
        experiment._id = meta["id"]
        experiment._dir = directory
        experiment._tasks = {}
        for name in meta.get("tasks", []):
            task_dir = directory / "tasks" / name
            try:
                executor = build(load(task_dir / "executor.yaml"))
            except ConfigError as exc:
                raise ExperimentError(
                    f"task '{name}': cannot rebuild its executor: {exc}"
                ) from None
            record = task_record(task_dir)
            experiment._tasks[name] = _Task(
                name, task_dir, executor, record.get("dependencies", [])
            )
        return experiment

    @classmethod
    def from_id(cls, experiment_id: str) -> Experiment:
        """Reopen a recorded experiment by its id."""
        return cls._open(experiment_dir(experiment_id))

    @classmethod
    def from_title(cls, title: str) -> Experiment:
        """Reopen the latest experiment with this title."""
        check_name("experiment title", title)
        folders = [p for p in (experiments_root() / title).glob("*") if (p / META).is_file()]
        if not folders:
            raise ExperimentError(f"no experiment titled '{title}' under '{experiments_root()}'")
        latest = max(folders, key=lambda p: (read_json(p / META) or {}).get("created", 0))
        return cls._open(latest)

    @classmethod
    def list(cls, title: str | None = None) -> list[dict[str, Any]]:
        """Summaries of recorded experiments (newest first): id, title, created, tasks."""
        root = experiments_root()
        pattern = f"{check_name('experiment title', title)}/*" if title else "*/*"
        found = []
        for folder in root.glob(pattern):
            meta = read_json(folder / META)
            if meta is not None:
                found.append(
                    {
                        "id": meta["id"],
                        "title": meta["title"],
                        "created": meta.get("created"),
                        "tasks": meta.get("tasks", []),
                        "dir": str(folder),
                    }
                )
        return sorted(found, key=lambda m: m.get("created") or 0, reverse=True)


def _times(record: dict[str, Any]) -> tuple[float | None, float | None]:
    started = ended = None
    for entry in record.get("states", []):
        if entry["state"] == "RUNNING" and started is None:
            started = entry["time"]
        if JobState(entry["state"]).final:
            ended = entry["time"]
    if started is None and record.get("launched"):
        started = record["launched"]
    return started, ended


def _default_executor() -> Executor:
    from nrun.exec.local import LocalExecutor

    return LocalExecutor()


def _tail(task: _Task, write: Callable[[str], object] = print) -> threading.Thread:
    job_id = task.job_id
    assert job_id is not None

    def follow() -> None:
        try:
            for line in task.executor.logs(job_id, follow=True):
                write(f"[{task.name}] {line}")
        except ExecutorError as exc:
            write(f"[{task.name}] cannot follow the logs: {exc}")

    thread = threading.Thread(target=follow, name=f"tail-{task.name}", daemon=True)
    thread.start()
    return thread


def _main(argv: list[str]) -> int:
    """`python -m nrun.exec.experiment <experiment dir>`: run a detached experiment."""
    if len(argv) != 1:
        print("usage: python -m nrun.exec.experiment <experiment dir>", file=sys.stderr)
        return 2
    experiment = Experiment._open(Path(argv[0]))
    os.environ.setdefault("NRUN_EXPERIMENT_ID", experiment.id)
    experiment._orchestrate()
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
