"""`watch`: follow an experiment live until every task has ended, then print its final table.

```python
from nrun.exec.watch import watch
code = watch("sweep_20260101-120000_ab12cd")   # 0: all succeeded, 1: any failed, 130: Ctrl-C
```

Each refresh reads the experiment's record and asks each kind of executor once about all its
live jobs (`Experiment.statuses`: one `Executor.batch_status` per kind; Slurm's answers come
from its cluster's shared poller, which backs off while nothing changes). On a terminal the view
is a rich `Live` table (state, executor, job id, elapsed time, exit code, the last line of each
log; the first frame comes from the records alone, before any executor is rebuilt), elsewhere
one plain line per change of state (`<time> <task> <STATE>`); then the final table. Ctrl-C
stops the watching only: the jobs keep running. It works on an experiment any process launched.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

from nrun.exec._lastline import LastLines
from nrun.exec._render import times
from nrun.exec.base import STATE_COLORS, JobState, JobStatus
from nrun.exec.experiment import Experiment
from nrun.exec.store import (
    META,
    ExperimentError,
    experiment_dir,
    experiment_summaries,
    experiments_root,
    read_json,
    task_record,
)

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.table import Table

__all__ = ["REFRESH", "Watcher", "elapsed_text", "newest_experiment_id", "watch"]

REFRESH = 1.0
"""Seconds between two refreshes of the view."""
_EXIT_FAILED = 1
_EXIT_INTERRUPTED = 130
# which rows stay when the terminal is too short for them all: the first of these first
_SHOWN_FIRST = ("RUNNING", "FAILED", "UNKNOWN", "PENDING", "CANCELLED", "SUCCEEDED")
_FRAME = 8  # lines of the view that are not task rows: title, borders, header, caption, hint


def newest_experiment_id() -> str:
    """The id of the newest recorded experiment; `ExperimentError` if there is none."""
    found = experiment_summaries()
    if not found:
        raise ExperimentError(f"no experiments under '{experiments_root()}'")
    return str(found[0]["id"])


def elapsed_text(seconds: float) -> str:
    """`12.3s`, `4m05s`, `2h03m`."""
    if seconds < 60:
        return f"{seconds:.1f}s"
    whole = int(seconds)
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


class Watcher:
    """What `watch` shows of one experiment, refreshed with one status query per executor kind.

    `glance` reads the records alone (no executor is rebuilt or asked: a first frame at once);
    `refresh` reopens the experiment when its record lists new tasks, and asks.
    """

    def __init__(self, experiment_id: str, lines: LastLines | None = None):
        self.dir = experiment_dir(experiment_id)
        self.id = experiment_id
        self.experiment: Experiment | None = None
        self.lines = lines or LastLines()
        self.statuses: dict[str, JobStatus] = {}
        self.refreshes = 0
        self._rows: dict[str, tuple[str, str]] = {}  # executor, job id
        self._times: dict[str, tuple[float | None, float | None]] = {}
        self._timed: dict[str, JobState] = {}  # the state each task's times were read in
        self._told: dict[str, JobState] = {}

    @property
    def done(self) -> bool:
        """Whether every task has ended (an experiment without tasks never does)."""
        return bool(self.statuses) and all(s.state.final for s in self.statuses.values())

    @property
    def failed(self) -> bool:
        """Whether any task failed or was cancelled."""
        bad = (JobState.FAILED, JobState.CANCELLED)
        return any(s.state in bad for s in self.statuses.values())

    def glance(self) -> dict[str, JobStatus]:
        """The statuses as recorded, from `job.json` alone: nothing rebuilt, nobody asked."""
        for name in (read_json(self.dir / META) or {}).get("tasks", []):
            record = task_record(self.dir / "tasks" / name)
            state = JobState(record["states"][-1]["state"])
            self.statuses[name] = JobStatus(
                state, record.get("exit_code"), record.get("reason", "")
            )
            self._rows[name] = (record.get("executor", ""), record.get("job_id") or "")
            self._times[name] = times(record)
        return self.statuses

    def refresh(self) -> dict[str, JobStatus]:
        """Read the record, ask the executors (one batch per kind), read the new last lines."""
        names = (read_json(self.dir / META) or {}).get("tasks", [])
        if self.experiment is None or len(names) != len(self.experiment.tasks):  # being built
            self.experiment = Experiment.from_id(self.id)
        tasks = self.experiment._tasks
        self.statuses = self.experiment.statuses()
        for name, status in self.statuses.items():
            task = tasks[name]
            self._rows[name] = (task.executor.describe(), task.job_id or "")
            if self._timed.get(name) != status.state:  # times change with the state only
                self._times[name] = times(task.record)
                self._timed[name] = status.state
        self.lines.update(tasks, self.statuses)
        self.refreshes += 1
        return self.statuses

    def finish(self, seconds: float = 5.0) -> None:
        """Read the last lines still missing (remote logs), for at most `seconds`."""
        if self.experiment is not None:
            self.lines.update(self.experiment._tasks, self.statuses, seconds=seconds)

    def changes(self) -> list[tuple[str, JobState]]:
        """The tasks whose state changed since the last call (all of them the first time)."""
        changed = [(n, s.state) for n, s in self.statuses.items() if self._told.get(n) != s.state]
        self._told.update(changed)
        return changed

    def summary(self) -> str:
        """How many tasks are in each state: `2 RUNNING · 1 PENDING · 3 SUCCEEDED`."""
        counts = Counter(s.state.value for s in self.statuses.values())
        order = [*_SHOWN_FIRST, *(str(s) for s in JobState)]
        return " · ".join(f"{counts[n]} {n}" for n in dict.fromkeys(order) if counts[n])

    def view(self, height: int | None = None) -> RenderableType:
        """The live view: the table (fitted to `height` lines), what it hides, when refreshed."""
        from rich.console import Group
        from rich.text import Text

        names = list(self.statuses)
        shown = self._fit(names, height)
        hint = f"refreshed {time.strftime('%H:%M:%S')} · Ctrl-C stops watching (jobs keep running)"
        if len(shown) < len(names):
            kept = set(shown)
            hidden = Counter(self.statuses[n].state.value for n in names if n not in kept)
            more = ", ".join(f"{count} {state}" for state, count in hidden.items())
            hint = f"{len(names) - len(shown)} more not shown ({more}) · {hint}"
        return Group(self.table(shown), Text(hint, style="dim"))

    def table(self, names: Sequence[str] | None = None) -> Table:
        """One row per task (of `names`, default all), and how many are in each state."""
        from rich.markup import escape
        from rich.table import Table
        from rich.text import Text

        table = Table(
            title=f"Experiment {self.id}",
            title_justify="left",
            caption=Text(self.summary()),
            caption_justify="left",
        )
        for column in ("task", "state", "executor", "job id", "elapsed", "exit"):
            table.add_column(column, no_wrap=True, overflow="ellipsis", min_width=len(column))
        table.add_column("last line", overflow="ellipsis")  # the one that gives way
        now = time.time()
        for name in self.statuses if names is None else names:
            status = self.statuses[name]
            started, ended = self._times.get(name, (None, None))
            executor, job_id = self._rows.get(name, ("", ""))
            table.add_row(
                escape(name),
                f"[{STATE_COLORS[status.state]}]{status.state.value}[/]",
                escape(executor),
                escape(job_id),
                "" if started is None else elapsed_text((ended or now) - started),
                "" if status.exit_code is None else str(status.exit_code),
                Text.from_ansi(self.lines.get(name), no_wrap=True, overflow="ellipsis"),
            )
        return table

    def _fit(self, names: list[str], height: int | None) -> list[str]:
        """The rows that fit in `height` lines: running, failed, … first, in their order."""
        room = max(1, (height or 0) - _FRAME)
        if height is None or len(names) <= room:
            return names
        rank = {state: i for i, state in enumerate(_SHOWN_FIRST)}
        index = {name: i for i, name in enumerate(names)}
        kept = sorted(names, key=lambda n: (rank[self.statuses[n].state.value], index[n]))
        return sorted(kept[:room], key=index.__getitem__)


def _follow_live(watcher: Watcher, console: Console, interval: float) -> None:
    """The live view until every task has ended; its last frame is the final table."""
    from rich.live import Live

    watcher.glance()  # the first frame from the records, before any executor is rebuilt
    with Live(
        watcher.view(console.size.height),
        console=console,
        auto_refresh=False,
        redirect_stdout=False,
        redirect_stderr=False,
    ) as live:
        while True:
            watcher.refresh()
            if watcher.done:
                break
            live.update(watcher.view(console.size.height), refresh=True)
            time.sleep(interval)
        watcher.finish()
        live.update(watcher.table(), refresh=True)


def _follow_plain(watcher: Watcher, console: Console, interval: float) -> None:
    """A line per change of state until every task has ended (no colours, no cursor moves)."""

    def say(text: str) -> None:
        console.print(text, markup=False, highlight=False, soft_wrap=True)

    say(f"watching experiment {watcher.id}")
    while True:
        watcher.refresh()
        stamp = time.strftime("%H:%M:%S")
        for name, state in watcher.changes():
            say(f"{stamp} {name} {state.value}")
        if watcher.done:
            return
        time.sleep(interval)


def watch(
    experiment_id: str | None = None,
    *,
    console: Console | None = None,
    interval: float = REFRESH,
) -> int:
    """Follow the experiment (the newest without an id) to its end; return the exit code.

    0 when every task succeeded, 1 when any failed or was cancelled, 130 on Ctrl-C (the jobs
    keep running; a line says so and how to cancel them). `ExperimentError` for an unknown id.
    """
    from rich.console import Console

    console = console or Console()
    watcher = Watcher(experiment_id or newest_experiment_id())
    if not (read_json(watcher.dir / META) or {}).get("tasks"):
        raise ExperimentError(f"experiment '{watcher.id}' has no tasks: nothing to watch")
    try:
        if console.is_terminal:
            _follow_live(watcher, console, interval)
        else:
            _follow_plain(watcher, console, interval)
            watcher.finish()
            console.print(watcher.table())
    except KeyboardInterrupt:  # the last view stays on the screen
        print(
            f"stopped watching; the jobs keep running: nrun experiment cancel {watcher.id}",
            file=sys.stderr,
            flush=True,
        )
        return _EXIT_INTERRUPTED
    return _EXIT_FAILED if watcher.failed else 0
