"""`RunContext`: what an `@cli.entrypoint(type="experiment")` function receives as `ctx`.

Such a function builds its own `Experiment` from its arguments and hands it to
`ctx.launch(experiment)`, which launches it as the command line asked: on `ctx.executor`,
detached, tailing logs, or, with `--dryrun`, only showing what each task would be sent.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nrun.exec.base import Executor
    from nrun.exec.experiment import Experiment
    from nrun.exec.plugins import ExperimentPlugin

__all__ = ["RunContext"]


@dataclasses.dataclass(kw_only=True)
class RunContext:
    """The command line's launch settings, for an experiment entrypoint to launch with."""

    name: str
    executor: Executor | None = None
    plugins: list[ExperimentPlugin] = dataclasses.field(default_factory=list)
    dryrun: bool = False
    detach: bool = False
    direct: bool = False
    tail_logs: bool = False
    yes: bool = False
    launched: list[str] = dataclasses.field(default_factory=list)

    @property
    def skip_confirmation(self) -> bool:
        """NeMo-Run's name for `yes`."""
        return self.yes

    def launch(self, experiment: Experiment, sequential: bool = False) -> None:
        """Run `experiment` as the command line asked (with `--dryrun`: show it, run nothing)."""
        if self.dryrun:
            from rich.console import Console

            from nrun.cli._display import show_previews

            show_previews(Console(), experiment.preview())
            experiment.discard()
            return
        experiment.run(sequential=sequential, detach=self.detach, tail_logs=self.tail_logs)
        self.launched.append(experiment.id)
