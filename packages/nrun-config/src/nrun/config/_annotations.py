"""Reading type annotations: `Annotated` stripped, union members, readable type names.

Standard library only (no fiddle), so the CLI's help and a task's imports can use them cheaply.
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
import pathlib
import types
import typing
from typing import Any, TypeGuard

__all__ = [
    "Unresolved",
    "is_any",
    "is_dataclass_type",
    "strip_annotated",
    "type_name",
    "union_members",
    "unresolved",
    "unresolved_name",
]

_NoneType = type(None)


class Unresolved:
    """Base of the stand-ins for annotation names defined nowhere at runtime (see `unresolved`).

    A value given for such an annotation is refused, naming the missing name, instead of being
    passed through unchecked as text.
    """

    name = ""


def unresolved(name: str) -> type[Unresolved]:
    """A stand-in class for the annotation name `name`, usable inside `Optional[...]` and such."""
    return type(name, (Unresolved,), {"name": name, "__module__": "<unresolved>"})


def unresolved_name(tp: Any) -> str | None:
    """The unresolved name inside annotation `tp` (at any depth), or None when all resolved."""
    tp = strip_annotated(tp)
    if isinstance(tp, type) and issubclass(tp, Unresolved):
        return tp.name
    for arg in typing.get_args(tp):
        found = unresolved_name(arg) if not isinstance(arg, (list, tuple)) else None
        if found is not None:
            return found
    return None


def strip_annotated(tp: Any) -> Any:
    """`Annotated[T, ...]` → `T`; anything else unchanged."""
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    return tp


def union_members(tp: Any) -> tuple[Any, ...] | None:
    """The members of a `Union`/`Optional`/`X | Y`, or None when `tp` is not a union."""
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        return typing.get_args(tp)
    return None


def is_any(tp: Any) -> bool:
    """Whether `tp` places no constraint on a value."""
    return (
        tp is Any
        or tp is object
        or tp is inspect.Parameter.empty
        or isinstance(tp, (typing.TypeVar, str, typing.ForwardRef))
    )


def is_dataclass_type(tp: Any) -> TypeGuard[type[Any]]:
    """Whether `tp` is a dataclass (the class, not an instance)."""
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def type_name(tp: Any) -> str:
    """A short readable name for an annotation: `int`, `list[int]`, `Model | None`, `'a' | 'b'`."""
    tp = strip_annotated(tp)
    if is_any(tp):
        return "any value"
    if isinstance(tp, type) and issubclass(tp, Unresolved):
        return f"{tp.name} (unresolved)"
    if tp is _NoneType or tp is None:
        return "None"
    members = union_members(tp)
    if members is not None:
        return " | ".join(type_name(m) for m in members)
    origin = typing.get_origin(tp)
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return f"{tp.__name__} (one of {', '.join(tp.__members__)})"
    if origin is not None:
        args = ", ".join(_arg_name(a) for a in typing.get_args(tp))
        base = getattr(origin, "__name__", str(origin))
        return f"{base}[{args}]" if args else base
    if isinstance(tp, type):
        if tp.__module__ == "builtins" or issubclass(tp, pathlib.PurePath):
            return tp.__name__
        return f"{tp.__module__}.{tp.__qualname__}"
    return str(tp)


def _arg_name(arg: Any) -> str:
    """One argument of a generic: `...`, a type, or the list of parameters of a `Callable`."""
    if arg is Ellipsis:
        return "..."
    if isinstance(arg, (list, tuple)):
        return "[" + ", ".join(_arg_name(a) for a in arg) + "]"
    return type_name(arg)
