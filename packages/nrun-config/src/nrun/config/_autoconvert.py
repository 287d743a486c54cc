"""`autoconvert`: a function returning plain objects made to return their `Config` instead.

Decorating imports nothing: fiddle is imported when the function is called, so a module whose
factories are decorated can be imported where fiddle is not installed (a job's node, where only
the task runs and no factory is called).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ParamSpec, overload

__all__ = ["autoconvert"]

P = ParamSpec("P")


@overload
def autoconvert(fn: Callable[P, Any], *, partial: bool = False) -> Callable[P, Any]: ...


@overload
def autoconvert(
    fn: None = None, *, partial: bool = False
) -> Callable[[Callable[P, Any]], Callable[P, Any]]: ...


def autoconvert(fn: Callable[..., Any] | None = None, *, partial: bool = False) -> Any:
    """Make a function that returns a plain object return its `Config` (or `Partial`) instead.

    `@autoconvert def model() -> Model: return Model(size=3)` makes `model()` return
    `Config(Model, size=3)`: every call in the body becomes a nested config (fiddle's
    `auto_config`), so each argument stays overridable. Functions whose body cannot be traced
    are called and their dataclass results converted.
    """

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            from nrun.config._buildable import autobuild

            return autobuild(func, partial, *args, **kwargs)

        wrapper.__auto_config__ = True  # type: ignore[attr-defined]
        wrapper.__wrapped_fn__ = func  # type: ignore[attr-defined]
        return wrapper

    return decorate if fn is None else decorate(fn)
