"""Reading signatures: the parameters, defaults and annotated types of functions and classes."""

from __future__ import annotations

import copy
import dataclasses
import inspect
import typing
from collections.abc import Callable
from typing import Any

import fiddle as fdl

from nrun.config._buildable import Config, Partial, to_buildable
from nrun.config._hints import get_hints
from nrun.config._types import is_dataclass_type, per_callable

__all__ = [
    "MISSING",
    "accepts_kwargs",
    "annotated_default",
    "annotated_hints",
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

    String annotations are resolved where `fn` was written (also names imported only under
    `TYPE_CHECKING`); a name defined nowhere is an `Unresolved` stand-in, so that a value given
    for it is refused naming it, and the rest of the signature still works.
    """
    hints = get_hints(_annotated(fn), fn)
    return {name: hints.get(name, Any) for name in _signature(fn).parameters}


@per_callable
def annotated_hints(fn: Callable[..., Any]) -> dict[str, Any]:
    """Like `type_hints`, with `Annotated[...]` kept (its metadata says what a default builds)."""
    hints = get_hints(_annotated(fn), fn, include_extras=True)
    return {name: hints.get(name, Any) for name in _signature(fn).parameters}


def _annotated(fn: Callable[..., Any]) -> Any:
    """Where the parameters' annotations of `fn` are written (a plain class: its `__init__`)."""
    if isinstance(fn, type) and not dataclasses.is_dataclass(fn):
        return fn.__init__  # type: ignore[misc]
    return fn


def annotated_default(hint: Any) -> Any:
    """`Config(X)` for `Annotated[Optional[X], Config[X]]` (NeMo-Run's default-building form).

    An argument so annotated whose default is None starts as `X` with its own defaults, so that
    `optimizer.lr=0.1` can reach inside; `MISSING` for any other annotation.
    """
    if typing.get_origin(hint) is not typing.Annotated:
        return MISSING
    inner, *metadata = typing.get_args(hint)
    members = [m for m in typing.get_args(inner) if m is not type(None)]
    for meta in metadata:
        origin = typing.get_origin(meta)
        if not (isinstance(origin, type) and issubclass(origin, fdl.Buildable)):
            continue
        args = typing.get_args(meta)
        target = args[0] if args else (members[0] if len(members) == 1 else None)
        if not callable(target):
            continue
        if issubclass(origin, fdl.Partial):
            return Partial(target)
        return from_signature(target, partial=False) if isinstance(target, type) else Config(target)
    return MISSING


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
        if value is None:
            value = annotated_default(annotated_hints(fn).get(name))
            if value is not MISSING:
                setattr(buildable, name, value)
                continue
            value = None
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
