"""Checking and coercing values against type annotations.

`coerce` is lax where the value's meaning is unambiguous (`"3"` for an `int` from an OmegaConf
resolver, a list for a `tuple[int, int]`, a mapping for a dataclass) and strict elsewhere; a
value that does not fit raises `ConfigTypeError` naming the path, the expected type and the value.
"""

from __future__ import annotations

import collections.abc as cabc
import enum
import functools
import pathlib
import typing
from collections.abc import Callable
from typing import Any, TypeVar

import fiddle as fdl

from nrun.config._annotations import (
    Unresolved,
    is_any,
    is_dataclass_type,
    strip_annotated,
    type_name,
    union_members,
)
from nrun.config._errors import ConfigTypeError

__all__ = [
    "coerce",
    "is_any",
    "is_dataclass_type",
    "per_callable",
    "returns",
    "strip_annotated",
    "type_name",
    "union_members",
    "unresolved_error",
]

_R = TypeVar("_R")
_NoneType = type(None)
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def per_callable(fn: Callable[[Any], _R]) -> Callable[[Any], _R]:
    """Memoize `fn` of one callable (signatures, hints); unhashable callables are not cached."""
    cache: dict[Any, _R] = {}

    @functools.wraps(fn)
    def wrapper(key: Any) -> _R:
        try:
            return cache[key]
        except KeyError:
            value = cache[key] = fn(key)
            return value
        except TypeError:
            return fn(key)

    return wrapper


def _given(value: Any) -> str:
    if isinstance(value, fdl.Buildable):
        return f"a config of {getattr(value.__fn_or_cls__, '__qualname__', value.__fn_or_cls__)}"
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(value).__name__})"


def _fail(value: Any, tp: Any, path: str) -> ConfigTypeError:
    where = f"'{path}'" if path else "value"
    return ConfigTypeError(
        f"{where} expects {type_name(tp)}, got {_given(value)}", path=path or None
    )


def unresolved_error(name: str, path: str) -> ConfigTypeError:
    """The one line for a value given to an argument whose annotation names an unknown type."""
    where = f"'{path}'" if path else "value"
    return ConfigTypeError(
        f"{where} is annotated with '{name}', which is not defined where the function is "
        f"(imported only under TYPE_CHECKING?): import {name} at runtime to give it a value",
        path=path or None,
    )


@per_callable
def returns(fn: Any) -> Any:
    """What calling `fn` produces, as far as can be known: the class, or the return annotation."""
    if isinstance(fn, type):
        return fn
    try:
        hint = typing.get_type_hints(fn).get("return", Any)
    except Exception:
        return Any
    return strip_annotated(hint)


def _buildable_fits(value: fdl.Buildable[Any], tp: Any) -> bool:
    if isinstance(value, fdl.Partial) and (
        tp is cabc.Callable or typing.get_origin(tp) is cabc.Callable
    ):
        return True
    produced = returns(value.__fn_or_cls__)
    if not isinstance(tp, type) or is_any(tp):
        return True
    if is_any(produced) and tp.__module__ != "builtins":
        # a call whose result is unknown (`os.system`, a function with no return annotation)
        # cannot fill an argument that asks for a class: it would run something else
        return False
    if is_any(produced) or not isinstance(produced, type):
        return True
    try:
        return issubclass(produced, tp)
    except TypeError:
        return True


def _exact(value: Any, tp: Any) -> bool:
    """Whether `value` already is of `tp` with no conversion (used to pick a union member)."""
    tp = strip_annotated(tp)
    if tp is _NoneType or tp is None:
        return value is None
    if tp is bool:
        return isinstance(value, bool)
    if tp in (int, float):
        return isinstance(value, tp) and not isinstance(value, bool)
    if typing.get_origin(tp) is typing.Literal:
        return any(value == a and type(value) is type(a) for a in typing.get_args(tp))
    if isinstance(value, fdl.Buildable):
        return _buildable_fits(value, tp) and not is_any(tp)
    origin = typing.get_origin(tp) or tp
    return isinstance(origin, type) and isinstance(value, origin)


def coerce(value: Any, tp: Any, path: str = "", *, from_mapping: Any = None) -> Any:
    """Return `value` converted to `tp`, or raise `ConfigTypeError`.

    `from_mapping(cls, mapping, path)` turns a mapping into a config of a dataclass or class;
    the applier passes one so that `{size: 3}` can fill a `Model` argument.
    """
    tp = strip_annotated(tp)
    if is_any(tp):
        return value
    if tp is None:  # `-> None`, `x: None`: the annotation None means NoneType
        tp = _NoneType
    if isinstance(tp, type) and issubclass(tp, Unresolved):
        raise unresolved_error(tp.name, path)
    if value is None:
        if tp is None or tp is _NoneType or _NoneType in (union_members(tp) or ()):
            return None
        raise _fail(value, tp, path)
    members = union_members(tp)
    if members is not None:
        return _coerce_union(value, members, tp, path, from_mapping)
    if isinstance(value, fdl.Buildable):
        if _buildable_fits(value, tp):
            return value
        raise _fail(value, tp, path)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Literal:
        return _coerce_literal(value, args, tp, path)
    if origin is not None:
        return _coerce_generic(value, origin, args, tp, path, from_mapping)
    if not isinstance(tp, type):
        return value
    if issubclass(tp, enum.Enum):
        return _coerce_enum(value, tp, path)
    scalar = _SCALARS.get(tp)
    if scalar is not None:
        return scalar(value, tp, path)
    if issubclass(tp, pathlib.PurePath):
        if isinstance(value, (str, pathlib.PurePath)):
            return tp(value)
        raise _fail(value, tp, path)
    if tp in (list, tuple, set, frozenset, dict):
        return _coerce_generic(value, tp, (), tp, path, from_mapping)
    if isinstance(value, tp):
        return value
    if isinstance(value, cabc.Mapping) and from_mapping is not None:
        return from_mapping(tp, value, path)
    raise _fail(value, tp, path)


def _coerce_union(
    value: Any, members: tuple[Any, ...], tp: Any, path: str, from_mapping: Any
) -> Any:
    for member in members:
        if isinstance(member, type) and issubclass(member, Unresolved):
            raise unresolved_error(member.name, path)
    for member in members:
        if _exact(value, member):
            return coerce(value, member, path, from_mapping=from_mapping)
    for member in members:
        if member is _NoneType:
            continue
        try:
            return coerce(value, member, path, from_mapping=from_mapping)
        except ConfigTypeError:
            continue
    raise _fail(value, tp, path)


def _coerce_literal(value: Any, choices: tuple[Any, ...], tp: Any, path: str) -> Any:
    for choice in choices:
        if value == choice and type(value) is type(choice):
            return choice
    for choice in choices:
        if isinstance(value, str) and str(choice) == value:
            return choice
    raise _fail(value, tp, path)


def _coerce_enum(value: Any, tp: type[enum.Enum], path: str) -> Any:
    if isinstance(value, tp):
        return value
    if isinstance(value, str):
        if value in tp.__members__:
            return tp[value]
        lowered = {name.lower(): member for name, member in tp.__members__.items()}
        if value.lower() in lowered:
            return lowered[value.lower()]
    for member in tp:
        if member.value == value or (isinstance(value, str) and str(member.value) == value):
            return member
    raise _fail(value, tp, path)


def _coerce_bool(value: Any, tp: Any, path: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
        return value.lower() in _TRUE
    raise _fail(value, tp, path)


def _coerce_int(value: Any, tp: Any, path: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.replace("_", ""))
        except ValueError:
            pass
    raise _fail(value, tp, path)


def _coerce_float(value: Any, tp: Any, path: str) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    raise _fail(value, tp, path)


def _coerce_str(value: Any, tp: Any, path: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float, pathlib.PurePath)) and not isinstance(value, bool):
        return str(value)
    raise _fail(value, tp, path)


_SCALARS: dict[Any, Any] = {
    bool: _coerce_bool,
    int: _coerce_int,
    float: _coerce_float,
    str: _coerce_str,
}


def _coerce_generic(
    value: Any, origin: Any, args: tuple[Any, ...], tp: Any, path: str, from_mapping: Any
) -> Any:
    def item(v: Any, t: Any, sub: str) -> Any:
        return coerce(v, t if t is not None else Any, sub, from_mapping=from_mapping)

    if origin in (
        list,
        set,
        frozenset,
        cabc.Sequence,
        cabc.MutableSequence,
        cabc.Iterable,
        cabc.Set,
        cabc.MutableSet,
        cabc.Collection,
    ):
        if not isinstance(value, (list, tuple, set, frozenset)):
            raise _fail(value, tp, path)
        elem = args[0] if args else None
        items = [item(v, elem, f"{path}[{i}]") for i, v in enumerate(value)]
        if origin in (set, cabc.Set, cabc.MutableSet):
            return set(items)
        if origin is frozenset:
            return frozenset(items)
        if origin is cabc.Sequence and isinstance(value, tuple):
            return tuple(items)
        return items
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise _fail(value, tp, path)
        if not args or (len(args) == 2 and args[1] is Ellipsis):
            elem = args[0] if args else None
            return tuple(item(v, elem, f"{path}[{i}]") for i, v in enumerate(value))
        if args == ((),):
            args = ()
        if len(args) != len(value):
            raise ConfigTypeError(
                f"'{path}' expects {type_name(tp)} ({len(args)} items), got {len(value)} items",
                path=path,
            )
        return tuple(
            item(v, t, f"{path}[{i}]") for i, (v, t) in enumerate(zip(value, args, strict=True))
        )
    if origin in (dict, cabc.Mapping, cabc.MutableMapping):
        if not isinstance(value, cabc.Mapping):
            raise _fail(value, tp, path)
        kt, vt = args if len(args) == 2 else (None, None)
        return {item(k, kt, f"{path}.<key>"): item(v, vt, f"{path}.{k}") for k, v in value.items()}
    if origin is type:
        return value
    if origin is cabc.Callable:
        if callable(value) or isinstance(value, fdl.Partial):
            return value
        raise _fail(value, tp, path)
    if isinstance(origin, type) and isinstance(value, origin):
        return value
    raise _fail(value, tp, path)
