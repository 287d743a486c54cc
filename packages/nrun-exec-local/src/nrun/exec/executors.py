"""Executors by name, through the `nrun.executors` entry points (the built-in `local` too)."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from nrun.exec.base import ExecutorError

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

    from nrun.exec.base import Executor

__all__ = ["DISTRIBUTIONS", "ExecutorNotInstalled", "executor_class", "executor_names"]

GROUP = "nrun.executors"
DISTRIBUTIONS = {
    "local": "nrun-exec-local",
    "docker": "nrun-exec-docker",
    "slurm": "nrun-exec-slurm",
}
"""Which distribution provides each executor we know of, for the error that names the fix."""


class ExecutorNotInstalled(ExecutorError):
    """An executor name that no installed distribution registers."""


@functools.lru_cache(maxsize=1)
def _entry_points() -> dict[str, EntryPoint]:
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group=GROUP)}


def executor_names() -> list[str]:
    """The names of the installed executors, sorted."""
    return sorted(_entry_points())


def executor_class(name: str) -> type[Executor]:
    """The executor class registered as `name`; `ExecutorNotInstalled` names what to install."""
    found = _entry_points().get(name)
    if found is None:
        dist = DISTRIBUTIONS.get(name)
        if dist is not None:
            raise ExecutorNotInstalled(f"executor '{name}' is not installed; pip install {dist}")
        known = ", ".join(executor_names()) or "none"
        raise ExecutorNotInstalled(f"unknown executor '{name}' (installed: {known})")
    cls: type[Executor] = found.load()
    return cls
