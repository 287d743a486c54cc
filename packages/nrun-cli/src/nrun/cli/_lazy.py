"""`--lazy`: the command line itself is the task, resolved where and when the task runs.

Factories then run, and `@files` are read, on the machine the executor lands on (a cluster
node that sees data the laptop does not). That machine needs nrun-cli and the entrypoint's code.
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["check_lazy", "lazy_table", "lazy_task", "run_lazy"]


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


def check_lazy(
    fn: Callable[..., Any],
    overrides: Sequence[str],
    factory: str | None = None,
    yaml: str | None = None,
    load: str | None = None,
) -> None:
    """Refuse now what would fail where the task runs: bad syntax, unknown names and factories.

    Nothing is resolved here (no factory runs, no file is read): each override's path is
    checked against the signature, and through dataclass fields while nothing before it
    (a factory call, a file, a base config) could have changed that argument's type.
    """
    from nrun.cli._factories import find_entrypoint_factory
    from nrun.cli._resolve import unknown_factory
    from nrun.config import Call, FileRef, UnknownArgumentError, Word, did_you_mean, parse_override

    named = factory if factory and factory[0] != "@" and factory != "default" else None
    if named is not None and find_entrypoint_factory(fn, named) is None:
        raise unknown_factory(fn, named)
    rebased = bool(factory or yaml or load)  # the base may hold subclasses: check names only
    replaced: set[tuple[Any, ...]] = set()  # paths set by a factory or a file before
    for text in overrides:
        override = parse_override(text)
        tp: Any = fn
        for depth, key in enumerate(override.path):
            parents = {override.path[: n + 1] for n in range(depth)}
            if not isinstance(key, str) or (depth and rebased) or parents & replaced:
                break
            fields = _fields(tp)
            if fields is None:
                break
            if key not in fields:
                where = ".".join(str(k) for k in override.path[:depth]) or fn.__name__
                hint = did_you_mean(key, list(fields)) or f" Arguments: {', '.join(fields)}."
                raise UnknownArgumentError(
                    f"Invalid override '{text}': {where} has no argument '{key}'.{hint}"
                )
            tp = fields[key]
        if isinstance(override.value, (Call, FileRef, Word)):
            replaced.add(override.path)


def _fields(tp: Any) -> dict[str, Any] | None:
    """The settable names of a function or dataclass and their annotations; None if unknown."""
    from nrun.config import strip_annotated

    tp = strip_annotated(tp)
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        hints = _hints(tp)
        return {f.name: hints.get(f.name, Any) for f in dataclasses.fields(tp) if f.init}
    if inspect.isfunction(tp):
        params = inspect.signature(tp).parameters
        if any(p.kind is p.VAR_KEYWORD for p in params.values()):
            return None
        hints = _hints(tp)
        return {name: hints.get(name, Any) for name in params}
    return None


def _hints(obj: Any) -> dict[str, Any]:
    try:
        return typing.get_type_hints(obj, include_extras=True)
    except Exception:
        return {}


def lazy_table(config: Any) -> Any:
    """The command line a `--lazy` task resolves where it runs, as the arguments table."""
    from rich.table import Table

    from nrun.config.secrets import MASK, is_secret

    arguments = config.__arguments__
    table = Table(title="Lazy Arguments", title_justify="left", caption_justify="left")
    table.caption = "resolved where the task runs"
    table.add_column("Argument Name", style="cyan", no_wrap=True)
    table.add_column("Value", overflow="fold")
    for option in ("factory", "yaml", "load"):
        if arguments.get(option):
            table.add_row(f"--{option}", str(arguments[option]))
    for text in arguments.get("overrides", []):
        path, _, value = text.partition("=")
        name = path.rstrip("+-*/").split(".")[-1]
        table.add_row(path, MASK if is_secret(name) else value)
    return table
