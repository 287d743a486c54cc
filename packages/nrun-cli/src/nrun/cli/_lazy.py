"""`--lazy`: the command line itself is the task, resolved where and when the task runs.

Factories then run, and `@files` are read, on the machine the executor lands on (a cluster
node that sees data the laptop does not). That machine needs nrun-cli and the entrypoint's code.
"""

from __future__ import annotations

from typing import Any

__all__ = ["lazy_task", "run_lazy"]


def run_lazy(
    target: str,
    overrides: list[str],
    factory: str | None = None,
    yaml: str | None = None,
    load: str | None = None,
) -> Any:
    """Import the entrypoint `target`, resolve the command line's overrides now, and call it."""
    from nrun.cli._resolve import base_config, resolve_task
    from nrun.config import build, locate

    fn = locate(target)
    config = base_config(fn, factory=factory, yaml=yaml, load=load)
    return build(resolve_task(fn, config, overrides))()


def lazy_task(
    fn: Any,
    overrides: list[str],
    *,
    factory: str | None = None,
    yaml: str | None = None,
    load: str | None = None,
) -> Any:
    """A `Partial(run_lazy, ...)` that resolves `fn`'s command line when it runs.

    File names stay as given: they are read where the task runs, from its working directory.
    """
    from nrun.cli._factories import module_name
    from nrun.config import Partial

    target = f"{module_name(fn.__module__)}.{fn.__qualname__}"
    return Partial(
        run_lazy, target=target, overrides=list(overrides), factory=factory, yaml=yaml, load=load
    )
