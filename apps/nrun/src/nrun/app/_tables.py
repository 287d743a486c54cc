"""The rich tables of `nrun experiment list|status|cancel` and `nrun executors`."""

from __future__ import annotations

import dataclasses
import inspect
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.table import Table

    from nrun.exec.base import Executor, JobState, JobStatus

__all__ = ["executor_fields", "executor_table", "experiments_table", "status_table"]


def _when(stamp: float | None) -> str:
    return "" if stamp is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp))


def experiments_table(
    summaries: Sequence[Mapping[str, Any]], states: Mapping[str, JobState] | None = None
) -> Table:
    """Recorded experiments, newest first: id, title, state (coloured), when created, tasks."""
    from rich.table import Table

    from nrun.exec.base import STATE_COLORS

    table = Table(title="Experiments", title_justify="left")
    table.add_column("id", no_wrap=True, style="cyan")
    table.add_column("title", overflow="fold", min_width=5)
    table.add_column("state", no_wrap=True)
    table.add_column("created", min_width=10)  # the time goes under the date when narrow
    table.add_column("tasks", overflow="fold", min_width=5)
    for summary in summaries:
        tasks = list(summary.get("tasks", []))
        state = (states or {}).get(summary["id"])
        table.add_row(
            summary["id"],
            summary["title"],
            "" if state is None else f"[{STATE_COLORS[state]}]{state.value}[/]",
            _when(summary.get("created")),
            ", ".join(tasks),
        )
    return table


def status_table(experiment_id: str, statuses: Mapping[str, JobStatus]) -> Table:
    """Each task's state, exit code and reason."""
    from rich.table import Table
    from rich.text import Text

    from nrun.exec.base import STATE_COLORS

    title = f"Experiment {experiment_id}"
    table = Table(title=title, title_justify="left", min_width=len(title))
    table.add_column("task", no_wrap=True)
    table.add_column("state", no_wrap=True)
    table.add_column("exit", no_wrap=True)
    table.add_column("reason", overflow="fold")
    for name, status in statuses.items():
        table.add_row(
            name,
            f"[{STATE_COLORS[status.state]}]{status.state.value}[/]",
            "" if status.exit_code is None else str(status.exit_code),
            Text(status.reason),
        )
    return table


def _type_text(annotation: Any) -> str:
    if isinstance(annotation, str):  # postponed annotations stay as written
        return annotation
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def _default_text(field: dataclasses.Field[Any]) -> str:
    if field.default is not dataclasses.MISSING:
        return repr(field.default)
    if field.default_factory is not dataclasses.MISSING:
        try:
            return repr(field.default_factory())
        except Exception as exc:
            return f"<{type(exc).__name__}: {exc}>"
    return "required"


def executor_fields(cls: type[Executor]) -> list[tuple[str, str, str]]:
    """(name, type, default) of each field a user can set on an executor class."""
    return [
        (field.name, _type_text(field.type), _default_text(field))
        for field in dataclasses.fields(cls)
        if field.init
    ]


def _public_path(cls: type) -> str:
    """`package.Class` without the private modules it is defined in (`_executor`)."""
    public: list[str] = []
    for part in cls.__module__.split("."):
        if part.startswith("_"):
            break
        public.append(part)
    return ".".join([*public, cls.__qualname__])


def executor_table(name: str, cls: type[Executor]) -> Table:
    """One executor: its entry-point name, class, summary and fields."""
    from rich.table import Table
    from rich.text import Text

    summary = (inspect.getdoc(cls) or "").split("\n", 1)[0]
    table = Table(
        title=f"[bold]{name}[/]: {_public_path(cls)}",
        caption=Text(summary) if summary else None,
        title_justify="left",
        caption_justify="left",
    )
    table.add_column("field", no_wrap=True, style="cyan")
    table.add_column("type", overflow="fold")
    table.add_column("default", overflow="fold")
    for field, type_text, default in executor_fields(cls):
        table.add_row(field, Text(type_text), Text(default))
    return table
