"""Experiment plugins: hooks that change a task and its executor before it is launched."""

from __future__ import annotations

import dataclasses
from typing import Any

from nrun.exec.base import Executor

__all__ = ["EnvVars", "ExperimentPlugin"]


@dataclasses.dataclass
class ExperimentPlugin:
    """Base of plugins: dataclasses, so `run.plugins=...` can configure them like any config."""

    def setup(self, task: Any, executor: Executor) -> None:
        """Change `task` (its config) and `executor` in place, before they are recorded."""


@dataclasses.dataclass
class EnvVars(ExperimentPlugin):
    """Add environment variables to every task's executor (existing names are kept)."""

    env: dict[str, str] = dataclasses.field(default_factory=dict)

    def setup(self, task: Any, executor: Executor) -> None:
        """Add the variables the executor does not set itself."""
        for key, value in self.env.items():
            executor.env_vars.setdefault(key, value)
