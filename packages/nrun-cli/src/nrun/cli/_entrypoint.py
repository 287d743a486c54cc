"""`@cli.entrypoint`: mark a function as a command, with its name, help and confirmation."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from typing import Any, Literal, TypeVar, overload

__all__ = ["Entrypoint", "entrypoint", "entrypoint_of"]

F = TypeVar("F", bound=Callable[..., Any])
_ATTR = "__nrun_entrypoint__"


@dataclasses.dataclass(frozen=True)
class Entrypoint:
    """What `@cli.entrypoint` records about a function."""

    fn: Callable[..., Any]
    name: str
    help: str = ""
    namespace: str | None = None
    require_confirmation: bool = True
    skip_confirmation: bool = False
    type: Literal["task", "experiment"] = "task"


@overload
def entrypoint(fn: F, /) -> F: ...
@overload
def entrypoint(
    fn: None = None,
    /,
    *,
    name: str | None = None,
    help: str | None = None,
    namespace: str | None = None,
    require_confirmation: bool = True,
    skip_confirmation: bool = False,
    type: Literal["task", "experiment"] = "task",
) -> Callable[[F], F]: ...
def entrypoint(
    fn: F | None = None,
    /,
    *,
    name: str | None = None,
    help: str | None = None,
    namespace: str | None = None,
    require_confirmation: bool = True,
    skip_confirmation: bool = False,
    type: Literal["task", "experiment"] = "task",
) -> F | Callable[[F], F]:
    """Make `fn` a CLI entrypoint; it stays an ordinary function when called from Python.

    `require_confirmation=False` or `skip_confirmation=True` launch without asking.
    `type="experiment"`: `fn(ctx, ...)` gets a `RunContext` and launches its own `Experiment`.
    """
    if type not in ("task", "experiment"):
        raise ValueError(f"entrypoint type {type!r} is not 'task' or 'experiment'")

    def mark(fn: F) -> F:
        if type == "experiment" and "ctx" not in inspect.signature(fn).parameters:
            raise ValueError(
                f"experiment entrypoint {fn.__name__!r} needs a `ctx` argument (the RunContext)"
            )
        setattr(
            fn,
            _ATTR,
            Entrypoint(
                fn=fn,
                name=name or fn.__name__,
                help=help if help is not None else inspect.getdoc(fn) or "",
                namespace=namespace,
                require_confirmation=require_confirmation,
                skip_confirmation=skip_confirmation,
                type=type,
            ),
        )
        return fn

    return mark(fn) if fn is not None else mark


def entrypoint_of(fn: Callable[..., Any]) -> Entrypoint:
    """The entrypoint record of `fn` (a plain function gets the defaults)."""
    found = getattr(fn, _ATTR, None)
    if isinstance(found, Entrypoint):
        return found
    return Entrypoint(fn=fn, name=getattr(fn, "__name__", "main"), help=inspect.getdoc(fn) or "")
