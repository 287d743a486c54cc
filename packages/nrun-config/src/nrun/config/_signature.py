"""Reading signatures: the parameters, defaults and annotated types of functions and classes."""

from __future__ import annotations

import copy
import dataclasses
import inspect
import sys
import typing
from collections.abc import Callable
from typing import Any

import fiddle as fdl

from nrun.config._buildable import Config, Partial, to_buildable
from nrun.config._types import is_dataclass_type, per_callable

__all__ = [
    "MISSING",
    "accepts_kwargs",
    "default_of",
    "from_signature",
    "missing_arguments",
    "parameters",
    "type_hints",
]

MISSING: Any = inspect.Parameter.empty
_NAMED = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


@per_callable
def _signature(fn: Callable[..., Any]) -> inspect.Signature:
    try:
        return inspect.signature(fn)
    except (TypeError, ValueError):  # a builtin without a signature: accept any argument
        return inspect.Signature([inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD)])


def parameters(fn: Callable[..., Any]) -> dict[str, inspect.Parameter]:
    """The parameters of `fn` that can be set by name (no `*args`/`**kwargs`)."""
    return {n: p for n, p in _signature(fn).parameters.items() if p.kind in _NAMED}


def accepts_kwargs(fn: Callable[..., Any]) -> bool:
    """Whether `fn` takes `**kwargs`, so that any name is a valid argument."""
    return any(p.kind is inspect.Parameter.VAR_KEYWORD for p in _signature(fn).parameters.values())


@per_callable
def type_hints(fn: Callable[..., Any]) -> dict[str, Any]:
    """The annotated type of each parameter of `fn`; `Any` where there is none.

    String annotations are resolved; one that cannot be (a name defined nowhere) counts as `Any`
    rather than failing the whole signature.
    """
    target: Any = fn
    if isinstance(fn, type) and not dataclasses.is_dataclass(fn):
        target = fn.__init__  # type: ignore[misc]
    try:
        hints = typing.get_type_hints(target)
    except Exception:  # resolve one annotation at a time: one bad name spoils only itself
        hints = {
            name: _resolve(param.annotation, target)
            for name, param in _signature(fn).parameters.items()
            if param.annotation is not inspect.Parameter.empty
        }
    return {name: hints.get(name, Any) for name in _signature(fn).parameters}


def _resolve(annotation: Any, owner: Any) -> Any:
    """A string annotation evaluated where `owner` was defined (as `typing` does), else `Any`."""
    if not isinstance(annotation, str):
        return annotation
    if isinstance(owner, type):
        module = sys.modules.get(owner.__module__)
        globalns, localns = (vars(module) if module else {}), dict(vars(owner))
    else:
        globalns, localns = getattr(inspect.unwrap(owner), "__globals__", {}), None
    try:
        return eval(annotation, globalns, localns)
    except Exception:
        return Any


def default_of(fn: Callable[..., Any], name: str) -> Any:
    """The default of parameter `name` of `fn` (a fresh copy), or `MISSING`.

    A dataclass field's `default_factory` is called, so mutable defaults are never shared.
    """
    if is_dataclass_type(fn):
        for field in dataclasses.fields(fn):
            if field.name == name:
                if field.default is not dataclasses.MISSING:
                    return _copy(field.default)
                if field.default_factory is not dataclasses.MISSING:
                    return field.default_factory()
                return MISSING
    param = parameters(fn).get(name)
    if param is None or param.default is inspect.Parameter.empty:
        return MISSING
    return _copy(param.default)


def _copy(value: Any) -> Any:
    """A deep copy of a default, so that changing a config never changes the signature's."""
    try:
        return copy.deepcopy(value)
    except Exception:  # an object that cannot be copied is shared, as Python itself would
        return value


def from_signature(fn: Callable[..., Any], *, partial: bool | None = None) -> Any:
    """A `Partial` (for functions) or `Config` (for classes) of `fn`, every default filled in.

    Nested dataclasses become nested `Config`s: a dataclass default, a `default_factory` that
    makes one, or a dataclass-typed parameter without a default (then its own defaults apply),
    so that `model.size=3` can reach into them.
    """
    if partial is None:
        partial = not isinstance(fn, type)
    cls = Partial if partial else Config
    buildable = cls(fn)
    hints = type_hints(fn)
    for name in parameters(fn):
        value = default_of(fn, name)
        if value is MISSING:
            hint = hints.get(name)
            if is_dataclass_type(hint):
                setattr(buildable, name, from_signature(hint, partial=False))
            continue
        setattr(buildable, name, to_buildable(value))
    return buildable


def child_default(buildable: fdl.Buildable[Any], name: str) -> Any:
    """The value to descend into at `buildable.name` when that argument was never set.

    Returns `MISSING` when there is nothing to descend into (no default, not a dataclass).
    """
    fn = buildable.__fn_or_cls__
    value = default_of(fn, name)
    if value is not MISSING:
        return to_buildable(value)
    hint = type_hints(fn).get(name)
    if is_dataclass_type(hint):
        return from_signature(hint, partial=False)
    return MISSING


def missing_arguments(buildable: fdl.Buildable[Any], path: str = "") -> list[str]:
    """Paths of the required arguments nobody set, in `buildable` and the configs inside it.

    Partials nested inside are skipped: what they lack can be given when they are called.
    """
    fn = buildable.__fn_or_cls__
    missing = [
        f"{path}.{name}" if path else name
        for name, param in parameters(fn).items()
        if param.default is inspect.Parameter.empty and name not in buildable.__arguments__
    ]
    for name, value in buildable.__arguments__.items():
        missing += _missing_inside(value, f"{path}.{name}" if path else str(name))
    return missing


def _missing_inside(value: Any, path: str) -> list[str]:
    if isinstance(value, fdl.Partial):
        return []
    if isinstance(value, fdl.Buildable):
        return missing_arguments(value, path)
    if isinstance(value, (list, tuple)):
        return [m for i, item in enumerate(value) for m in _missing_inside(item, f"{path}[{i}]")]
    if isinstance(value, dict):
        return [m for key, item in value.items() for m in _missing_inside(item, f"{path}.{key}")]
    return []
